/**
 * The random streams the golden test pins: each entry draws from one generator, seeding scheme
 * or sampler of the random package. Only this file follows API changes; the expected numbers
 * in golden_test.ts never change (a change there changes results and cached outputs).
 *
 * @module
 */

import { createRng, mixSeed, Random, stageRng } from "../../src/random/mod.ts";

// What were the ES generator (EsRng) and CarRacing's (EnvRng) before the merge.
const EsRng = {
  create: (seed: number) => Random.splitMix(seed),
  fromState: Random.fromState,
  fromSource: Random.fromSource,
};
const EnvRng = (seed: number) => Random.keyedSplitMix(seed);

const N = 8;
const take = (f: () => number, n = N) => Array.from({ length: n }, f);

function runnerStreams(out: Record<string, () => number[]>) {
  for (const seed of [0, 42, 4294967301, -1, 3.7]) {
    out[`createRng(${seed}).nextUint32`] = () => {
      const r = createRng(seed);
      return take(() => r.nextUint32());
    };
    out[`createRng(${seed}).nextFloat`] = () => {
      const r = createRng(seed);
      return take(() => r.nextFloat());
    };
    out[`createRng(${seed}).normal`] = () => {
      const r = createRng(seed);
      return take(() => r.normal());
    };
  }
  out["createRng(7) normal, nextFloat, normal interleaved"] = () => {
    const r = createRng(7);
    return take(() => r.normal() + 10 * r.nextFloat() + 100 * r.normal());
  };
  out['createRng(42).fork("x") after draws'] = () => {
    const r = createRng(42);
    r.nextUint32();
    r.normal();
    const f = r.fork("x");
    return [...take(() => f.nextUint32(), 4), ...take(() => f.nextFloat(), 4), r.nextUint32()];
  };
  out['createRng(9).fork("a").fork("b")'] = () => {
    const r = createRng(9).fork("a").fork("b");
    return take(() => r.nextUint32());
  };
  for (const [seed, name] of [[0, "train"], [42, "worldmodels/train_vae"], [4294967301, ""]]) {
    out[`stageRng(${seed}, "${name}")`] = () => {
      const r = stageRng(seed as number, name as string);
      return [...take(() => r.nextUint32(), 4), ...take(() => r.nextFloat(), 2), r.normal()];
    };
  }
}

function esStreams(out: Record<string, () => number[]>) {
  for (const seed of [0, 123, -1, 2 ** 40 + 7, -(2 ** 45) - 3]) {
    out[`EsRng(${seed}).nextUint32`] = () => {
      const r = EsRng.create(seed);
      return take(() => r.nextUint32());
    };
    out[`EsRng(${seed}).nextFloat`] = () => {
      const r = EsRng.create(seed);
      return take(() => r.nextFloat());
    };
    out[`EsRng(${seed}).normal`] = () => {
      const r = EsRng.create(seed);
      return take(() => r.normal());
    };
  }
  out["EsRng(99) state after normal, restored"] = () => {
    const r = EsRng.create(99);
    r.normal();
    r.nextUint32();
    r.normal();
    r.normal();
    const st = r.toState();
    const back = EsRng.fromState(JSON.parse(JSON.stringify(st)));
    return [...st.s, st.spare ?? -999, ...take(() => back.normal(), 4), back.nextUint32()];
  };
  out["EsRng.fromSource(uint32 counter)"] = () => {
    let i = 0;
    const r = EsRng.fromSource({ nextUint32: () => 1000 + i++, nextFloat: () => 0.5 });
    return take(() => r.nextUint32());
  };
  out["EsRng.fromSource(float 0.25)"] = () => {
    const r = EsRng.fromSource({ nextFloat: () => 0.25 });
    return take(() => r.nextUint32());
  };
  out["EsRng.fromSource(createRng(5))"] = () => {
    const r = EsRng.fromSource(createRng(5));
    return take(() => r.normal());
  };
}

function envStreams(out: Record<string, () => number[]>) {
  for (const seed of [0, 7, 2 ** 33 + 1, 2 ** 53 - 1]) {
    out[`EnvRng(${seed}).nextUint32`] = () => {
      const r = EnvRng(seed);
      return take(() => r.nextUint32());
    };
    out[`EnvRng(${seed}).random`] = () => {
      const r = EnvRng(seed);
      return take(() => r.nextFloat());
    };
    out[`EnvRng(${seed}).uniform(-1, 2)`] = () => {
      const r = EnvRng(seed);
      return take(() => r.uniform(-1, 2));
    };
  }
}

function dataStreams(out: Record<string, () => number[]>) {
  for (const seed of [0, 42, 2 ** 40 + 3]) {
    out[`Random(${seed}).nextUint32`] = () => {
      const r = new Random(seed);
      return take(() => r.nextUint32());
    };
    out[`Random(${seed}).nextFloat`] = () => {
      const r = new Random(seed);
      return take(() => r.nextFloat());
    };
    out[`Random(${seed}).uniform(-3, 5)`] = () => {
      const r = new Random(seed);
      return take(() => r.uniform(-3, 5));
    };
    out[`Random(${seed}).nextInt(10)`] = () => {
      const r = new Random(seed);
      return take(() => r.nextInt(10));
    };
    out[`Random(${seed}).normal`] = () => {
      const r = new Random(seed);
      return take(() => r.normal());
    };
    out[`Random(${seed}).shuffle(0..9)`] = () => {
      const r = new Random(seed);
      return r.shuffle(Array.from({ length: 10 }, (_, i) => i));
    };
  }
  out["Random(5) shuffle Float32Array, then normal"] = () => {
    const r = new Random(5);
    const a = r.shuffle(Float32Array.from({ length: 6 }, (_, i) => i));
    return [...a, r.normal(), r.normal(), r.nextUint32()];
  };
  const parts: (number | string)[][] = [
    [],
    [0],
    [42],
    [1, "a", 2],
    [1, "a", 3],
    [2 ** 32 + 1, "worldmodels/collect", 17],
    ["", ""],
    ["dream", "z"],
    [2 ** 53 - 1],
  ];
  for (const p of parts) out[`mixSeed(${JSON.stringify(p)})`] = () => [mixSeed(...p)];
}

/** Name -> draws, for every stream the random package promises to keep. */
export function streams(): Record<string, () => number[]> {
  const out: Record<string, () => number[]> = {};
  runnerStreams(out);
  esStreams(out);
  envStreams(out);
  dataStreams(out);
  return out;
}
