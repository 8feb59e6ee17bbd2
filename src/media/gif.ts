/**
 * Animated GIFs with gifenc, shared by the env demo and the World Models stages: RGB frames
 * (for example a row of panels built with {@linkcode sideBySide}) written losslessly with a
 * fixed palette when every colour is in it, otherwise quantised to one palette per frame.
 *
 * @module
 */

import gifenc from "gifenc";

// gifenc ships CommonJS whose named exports Deno cannot detect; take them off the default.
interface GifStream {
  writeFrame(
    index: Uint8Array,
    width: number,
    height: number,
    opts: { palette?: number[][]; delay?: number; first?: boolean },
  ): void;
  finish(): void;
  bytes(): Uint8Array;
}
const { GIFEncoder, quantize, applyPalette } = gifenc as unknown as {
  GIFEncoder: () => GifStream;
  quantize: (rgba: Uint8Array, maxColors: number) => number[][];
  applyPalette: (rgba: Uint8Array, palette: number[][]) => Uint8Array;
};

/** One RGB image (row 0 at the top). */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width * height * 3 bytes. */
  rgb: Uint8Array;
}

/** Nearest-neighbour upscaling by an integer factor. */
export function upscale(image: RgbImage, factor: number): RgbImage {
  const { width: w, height: h, rgb } = image;
  const W = w * factor;
  const H = h * factor;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const row = Math.floor(y / factor) * w;
    for (let x = 0; x < W; x++) {
      const i = (row + Math.floor(x / factor)) * 3;
      const o = (y * W + x) * 3;
      out[o] = rgb[i];
      out[o + 1] = rgb[i + 1];
      out[o + 2] = rgb[i + 2];
    }
  }
  return { width: W, height: H, rgb: out };
}

/** Places images side by side (top-aligned, black background). */
export function sideBySide(images: readonly RgbImage[]): RgbImage {
  const width = images.reduce((a, im) => a + im.width, 0);
  const height = Math.max(...images.map((im) => im.height));
  const rgb = new Uint8Array(width * height * 3);
  let left = 0;
  for (const im of images) {
    for (let y = 0; y < im.height; y++) {
      rgb.set(im.rgb.subarray(y * im.width * 3, (y + 1) * im.width * 3), (y * width + left) * 3);
    }
    left += im.width;
  }
  return { width, height, rgb };
}

/** Options of {@linkcode encodeGif}. */
export interface EncodeGifOptions {
  /** Milliseconds between frames. */
  delayMs: number;
  /**
   * A fixed palette of at most 256 `[r, g, b]` colours: a frame whose colours are all in it is
   * written losslessly with it; other frames are quantised on their own.
   */
  palette?: readonly (readonly number[])[];
}

/**
 * Encodes same-sized frames as a looping animated GIF.
 *
 * @param frames The frames.
 * @param options Frame delay and an optional fixed palette.
 * @returns The GIF bytes.
 */
export function encodeGif(frames: readonly RgbImage[], options: EncodeGifOptions): Uint8Array {
  if (frames.length === 0) throw new RangeError("Cannot encode a GIF: no frames");
  const { width, height } = frames[0];
  const gif = GIFEncoder();
  const n = width * height;
  const rgba = new Uint8Array(n * 4);
  const fixed = options.palette?.map((c) => [...c]);
  const lookup = new Map<number, number>();
  fixed?.forEach(([r, g, b], i) => lookup.set((r << 16) | (g << 8) | b, i));
  frames.forEach((frame, f) => {
    if (frame.width !== width || frame.height !== height) {
      throw new RangeError(
        `Cannot encode a GIF: frame ${f} is ${frame.width}x${frame.height}, not ${width}x${height}`,
      );
    }
    const rgb = frame.rgb;
    if (fixed) {
      const index = exactIndex(rgb, n, lookup);
      if (index) {
        gif.writeFrame(index, width, height, {
          palette: fixed,
          delay: options.delayMs,
          first: f === 0,
        });
        return;
      }
    }
    for (let i = 0; i < n; i++) {
      rgba[i * 4] = rgb[i * 3];
      rgba[i * 4 + 1] = rgb[i * 3 + 1];
      rgba[i * 4 + 2] = rgb[i * 3 + 2];
      rgba[i * 4 + 3] = 255;
    }
    const palette = quantize(rgba, 256);
    gif.writeFrame(applyPalette(rgba, palette), width, height, {
      palette,
      delay: options.delayMs,
    });
  });
  gif.finish();
  return gif.bytes();
}

/** Palette indices of a frame, or undefined when a colour is missing from the palette. */
function exactIndex(
  rgb: Uint8Array,
  n: number,
  lookup: Map<number, number>,
): Uint8Array | undefined {
  const index = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = lookup.get((rgb[i * 3] << 16) | (rgb[i * 3 + 1] << 8) | rgb[i * 3 + 2]);
    if (k === undefined) return undefined;
    index[i] = k;
  }
  return index;
}
