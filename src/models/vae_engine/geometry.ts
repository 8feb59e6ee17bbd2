/**
 * The shapes of the World Models ConvVAE as the training engine sees them: the four
 * convolutions, the four transposed convolutions, and the 22 weight tensors in the order of
 * the tfjs model's `trainableWeights` (encoder then decoder, each layer's kernel then bias).
 *
 * @module
 */

/** One stride-2 convolution of the encoder (4x4 kernel, valid, ReLU). */
export interface ConvGeometry {
  /** Input side. */
  inSize: number;
  /** Input channels. */
  cin: number;
  /** Output side. */
  outSize: number;
  /** Output channels. */
  cout: number;
  /** Kernel side. */
  k: number;
}

/** The encoder's convolutions, 64x64x3 -> 2x2x256. */
export const ENCODER_CONVS: readonly ConvGeometry[] = [
  { inSize: 64, cin: 3, outSize: 31, cout: 32, k: 4 },
  { inSize: 31, cin: 32, outSize: 14, cout: 64, k: 4 },
  { inSize: 14, cin: 64, outSize: 6, cout: 128, k: 4 },
  { inSize: 6, cin: 128, outSize: 2, cout: 256, k: 4 },
];

/** The decoder's transposed convolutions (stride 2, valid), 1x1x1024 -> 64x64x3. */
export const DECODER_DECONVS: readonly ConvGeometry[] = [
  { inSize: 1, cin: 1024, outSize: 5, cout: 128, k: 5 },
  { inSize: 5, cin: 128, outSize: 13, cout: 64, k: 5 },
  { inSize: 13, cin: 64, outSize: 30, cout: 32, k: 6 },
  { inSize: 30, cin: 32, outSize: 64, cout: 3, k: 6 },
];

/** Features after the encoder's last convolution (2 * 2 * 256), and the decoder's dense width. */
export const FLAT = 1024;
/** Floats of one 64x64x3 frame. */
export const FRAME = 64 * 64 * 3;

/** Index of each layer's kernel in the weight list (its bias follows it). */
export const WEIGHT_INDEX = {
  conv: (l: number) => 2 * l,
  mu: 8,
  logvar: 10,
  dense: 12,
  deconv: (d: number) => 14 + 2 * d,
} as const;

/** The shapes of the 22 weight tensors, in the tfjs model's order, for latent size `zSize`. */
export function vaeWeightShapes(zSize: number): number[][] {
  const shapes: number[][] = [];
  for (const c of ENCODER_CONVS) shapes.push([c.k, c.k, c.cin, c.cout], [c.cout]);
  shapes.push([FLAT, zSize], [zSize], [FLAT, zSize], [zSize], [zSize, FLAT], [FLAT]);
  for (const c of DECODER_DECONVS) shapes.push([c.k, c.k, c.cout, c.cin], [c.cout]);
  return shapes;
}
