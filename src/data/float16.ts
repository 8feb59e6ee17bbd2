/**
 * IEEE 754 binary16 (half precision) conversions, bit-exact with NumPy's `float32 <-> float16`
 * casts: round to nearest, ties to even, overflow to infinity, subnormals kept, NaN stays NaN.
 *
 * Written out rather than relying on the runtime's `Float16Array`, so that the result does not
 * depend on the Deno version a user runs.
 *
 * @module
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Converts a number (first rounded to float32, as NumPy's float32 -> float16 cast sees it) to the
 * 16 bits of the nearest binary16 value.
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  return float32BitsToFloat16Bits(u32[0]);
}

/** Converts the 32 bits of a float32 to the 16 bits of the nearest binary16 value. */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    if (mantissa === 0) return sign | 0x7c00;
    // NaN: keep the top payload bits like NumPy, and never let it collapse to infinity.
    const nan = 0x7c00 + (mantissa >>> 13);
    return sign | (nan === 0x7c00 ? 0x7c01 : nan);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half (or zero): value = mantissa24 * 2^(exponent - 150), unit 2^-24.
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** Converts the 16 bits of a binary16 value to the number it represents (exactly). */
export function fromFloat16Bits(bits: number): number {
  const sign = (bits & 0x8000) !== 0 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

let decodeTable: Float32Array | undefined;

/** Decodes binary16 bits into float32 values (table lookup). */
export function decodeFloat16(
  bits: Uint16Array,
  out = new Float32Array(bits.length),
): Float32Array {
  if (decodeTable === undefined) {
    decodeTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) decodeTable[i] = fromFloat16Bits(i);
  }
  const table = decodeTable;
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/**
 * Encodes float32 values into binary16 bits, rounding to nearest even like NumPy. The float32
 * bits are read directly, so NaN payloads survive as NumPy keeps them.
 */
export function encodeFloat16(
  values: Float32Array,
  out = new Uint16Array(values.length),
): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) out[i] = float32BitsToFloat16Bits(bits[i]);
  return out;
}
