/**
 * The catalog of TypeScript stage modules: their code fingerprints (which modules they load, what
 * the stage host adds) and their declarations (params, inputs, outputs), read once per code
 * version and remembered across runs.
 *
 * @module
 */

import { dirname, fromFileUrl, join, relative, toFileUrl } from "./path.ts";
import { type CodeFingerprint, CodeFingerprinter } from "./fingerprint.ts";
import { canonicalJson } from "./hash.ts";
import type { StageMeta } from "./experiment/mod.ts";
import type { StageModule } from "./stage.ts";
import { writeFileAtomic } from "./store.ts";

const PROJECT_ROOT = dirname(dirname(dirname(fromFileUrl(import.meta.url))));
const RUNNER_DIR = dirname(fromFileUrl(import.meta.url));
/** The entry of what stage_host.ts imports from outside the runner (see ModuleCatalog). */
const HOST_RUNTIME = join(PROJECT_ROOT, "src/random/mod.ts");

/** Reads the module declarations of TypeScript stages, cached by code fingerprint. */
export class ModuleCatalog {
  #fingerprinter: CodeFingerprinter;
  #metaPath: string;
  #meta: Record<string, StageMeta> = {};
  #metaDirty = false;
  #fingerprints = new Map<string, Promise<CodeFingerprint>>();

  constructor(memoDir: string, config: string) {
    let imports: Record<string, string> = {};
    try {
      imports = JSON.parse(Deno.readTextFileSync(config)).imports ?? {};
    } catch {
      // No import map.
    }
    this.#fingerprinter = new CodeFingerprinter({
      memoPath: join(memoDir, "code.json"),
      imports,
      importMapDir: dirname(config),
      // The runner's own modules (stage.ts, stage_host.ts, ...) are infrastructure, not stage code.
      exclude: [RUNNER_DIR],
    });
    this.#metaPath = join(memoDir, "meta.json");
    try {
      this.#meta = JSON.parse(Deno.readTextFileSync(this.#metaPath));
    } catch {
      // Empty.
    }
  }

  fingerprint(path: string): Promise<CodeFingerprint> {
    let fp = this.#fingerprints.get(path);
    if (!fp) {
      fp = Promise.all([this.#fingerprinter.fingerprint(path), this.#hostRuntime()]).then((
        [own, host],
      ) => ({
        files: { ...own.files, ...host.files },
        packages: [...new Set([...own.packages, ...host.packages])].sort(),
      }));
      this.#fingerprints.set(path, fp);
    }
    return fp;
  }

  #host?: Promise<CodeFingerprint>;

  /**
   * What the stage host hands every TypeScript stage from outside the runner (the generator
   * behind `ctx.rng`): part of every stage's code, since a change there changes its results even
   * when the stage imports nothing of ours. Named from the project root (`ditto:src/...`) so that
   * the key does not depend on where a user's stage lives relative to ditto.
   */
  #hostRuntime(): Promise<CodeFingerprint> {
    return this.#host ??= this.#fingerprinter.fingerprint(HOST_RUNTIME).then((fp) => ({
      files: Object.fromEntries(
        Object.entries(fp.files).map(([file, hash]) => [
          `ditto:${relative(PROJECT_ROOT, join(dirname(HOST_RUNTIME), file))}`,
          hash,
        ]),
      ),
      packages: fp.packages,
    }));
  }

  describe = async (path: string): Promise<StageMeta> => {
    const fp = await this.fingerprint(path);
    const id = `${path}\n${canonicalJson(fp)}`;
    const hit = this.#meta[id];
    if (hit) return hit;
    const version = Object.values(fp.files).join("").slice(0, 16);
    const mod = await import(`${toFileUrl(path).href}?v=${version}`);
    const stage = mod.default as StageModule;
    if (!stage || typeof stage !== "object" || typeof stage.run !== "function") {
      throw new TypeError("the default export is not a stage (no run function)");
    }
    if (!Array.isArray(stage.outputs) || typeof stage.params !== "object") {
      throw new TypeError("the stage must declare `params` and `outputs`");
    }
    for (const out of stage.outputs) {
      if (typeof out !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(out)) {
        throw new TypeError(`output name ${JSON.stringify(out)} must be a plain file name`);
      }
    }
    const meta: StageMeta = {
      description: String(stage.description ?? ""),
      params: structuredClone(stage.params),
      inputs: structuredClone(stage.inputs ?? {}),
      outputs: [...stage.outputs],
      deterministic: stage.deterministic ?? true,
    };
    this.#meta[id] = meta;
    this.#metaDirty = true;
    return meta;
  };

  save(): void {
    this.#fingerprinter.save();
    if (this.#metaDirty) {
      writeFileAtomic(this.#metaPath, JSON.stringify(this.#meta), { sync: false });
    }
  }
}
