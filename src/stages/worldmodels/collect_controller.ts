/**
 * `worldmodels/collect_controller`: rollouts of a trained controller (with exploration noise),
 * in the same format as `worldmodels/collect`. This is step 2 of the paper's iterative
 * training procedure: a world model trained on random rollouts has seen little of the car on
 * the road; rollouts of a controller that drives show it what driving looks like.
 *
 * ```yaml
 * collect_controller:
 *   uses: worldmodels/collect_controller
 *   inputs:
 *     controller: "${stages.train_controller.outs.controller}"
 *     vae: "${stages.train_vae.outs.model}"
 *   with: { episodes: 100, max_steps: 1000, action_noise: 0.1 }
 * ```
 *
 * Episode i runs on track `mixSeed(experiment seed, "worldmodels/collect_controller", i)`, a
 * label no other stage uses (never an evaluation track). Each step the controller sees the
 * frame as in `evaluate`, then Gaussian noise of standard deviation `action_noise` is added to
 * each action dimension and the action is clipped to the action space; frame t is the
 * observation action t was chosen at, reward t and done t come from step(action t), as in
 * `worldmodels/collect`. The episodes are run `envs` at a time in one thread (one encoder call
 * per step for all of them); the bytes do not depend on `envs`.
 *
 * @module
 */

import { mixSeed } from "../../random/mod.ts";
import { type Episode, RolloutWriter } from "../../data/rollouts.ts";
import { type BackendName, SYNC_BACKEND_NAMES } from "../../models/backend/mod.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import {
  ControllerDriver,
  type ControllerInputs,
  type TransitionView,
} from "../../worldmodels/agent.ts";
import { pickSolution, readControllerFile, SOLUTIONS } from "./evaluate.ts";
import {
  describeTraining,
  mergeLineage,
  trainedInReality,
  writeLineage,
} from "../../worldmodels/lineage.ts";

/** The stage's label, mixed into every track seed it uses. */
export const COLLECT_CONTROLLER_LABEL = "worldmodels/collect_controller";

/** Parameters of `worldmodels/collect_controller` (the `with:` keys). */
export interface CollectControllerParams {
  /** Number of episodes. */
  episodes: number;
  /** Step limit of an episode. */
  max_steps: number;
  /** Standard deviation of the Gaussian noise added to each action dimension. */
  action_noise: number;
  /** Which parameters of the controller file drive. */
  solution: typeof SOLUTIONS[number];
  /** Environments stepped at once (one encoder call per step); does not change the output. */
  envs: number;
  /** TensorFlow.js backend of the models. */
  backend: BackendName;
}

const FRAME = 64 * 64 * 3;

/** One episode's buffers while it runs. */
interface Recording {
  frames: Uint8Array;
  actions: Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  length: number;
}

/** Runs the collection: the body of the stage, usable with any {@linkcode StageContext}. */
export async function collectController(
  ctx: StageContext<CollectControllerParams>,
): Promise<void> {
  const p = ctx.params;
  const file = await readControllerFile(ctx.inputs.controller);
  const inputs: ControllerInputs = file.inputs;
  if (inputs === "zh" && ctx.inputs.rnn === undefined) {
    throw new TypeError("Cannot collect: the controller sees z and h; give the `rnn` input");
  }
  const solution = pickSolution(file, p.solution);
  const seeds = Array.from(
    { length: p.episodes },
    (_, i) => mixSeed(ctx.seed, COLLECT_CONTROLLER_LABEL, i),
  );
  const writer = await RolloutWriter.create(ctx.output("rollouts"), {
    frameShape: [64, 64, 3],
    actionSize: 3,
    policy: {
      name: "controller",
      solution: solution.name,
      controller_generation: solution.generation,
      inputs,
      action_noise: p.action_noise,
    },
    meta: {
      stage: COLLECT_CONTROLLER_LABEL,
      env: "CarRacing (gym v0 port), observation pixels64",
      max_steps: p.max_steps,
      experiment_seed: ctx.seed,
      episode_seed: `mixSeed(experiment_seed, "${COLLECT_CONTROLLER_LABEL}", episode)`,
      noise_seed: 'mixSeed(episode_seed, "action_noise")',
      frame_t: "observation the action t was chosen at",
      reward_t: "reward of step(action t)",
      done_t: "step(action t) terminated the episode (not set on truncation at max_steps)",
    },
  });
  ctx.log(
    `${p.episodes} episodes of the ${solution.name} controller of generation ` +
      `${solution.generation} (inputs ${inputs}), action noise ${p.action_noise}`,
  );
  ctx.progress.total(p.episodes, "episodes");
  const driver = await ControllerDriver.create({
    vae: ctx.inputs.vae,
    rnn: inputs === "zh" ? ctx.inputs.rnn : undefined,
    inputs,
    maxSteps: p.max_steps,
    slots: p.envs,
    backend: p.backend,
  });
  try {
    // A few batches of episodes at a time: what is recorded waits in memory until it is written.
    const chunk = 2 * p.envs;
    for (let first = 0; first < p.episodes; first += chunk) {
      const jobs = seeds.slice(first, first + chunk).map((seed) => ({ candidate: 0, seed }));
      const recordings: Recording[] = jobs.map(() => ({
        frames: new Uint8Array(p.max_steps * FRAME),
        actions: new Float32Array(p.max_steps * 3),
        rewards: new Float32Array(p.max_steps),
        dones: new Uint8Array(p.max_steps),
        length: 0,
      }));
      const record = (v: TransitionView) => {
        const r = recordings[v.job];
        r.frames.set(v.observation, v.t * FRAME);
        r.actions.set(v.action, v.t * 3);
        r.rewards[v.t] = v.reward;
        r.dones[v.t] = v.terminated ? 1 : 0;
        r.length = v.t + 1;
      };
      await driver.run([solution.params], jobs, {
        signal: ctx.signal,
        actionNoise: p.action_noise,
        onTransition: record,
      });
      for (const [j, r] of recordings.entries()) {
        const episode: Episode = {
          frames: r.frames.subarray(0, r.length * FRAME),
          actions: r.actions.subarray(0, r.length * 3),
          rewards: r.rewards.subarray(0, r.length),
          dones: r.dones.subarray(0, r.length),
        };
        const index = first + j;
        const info = await writer.append(seeds[index], episode);
        ctx.metrics.log(index, { return: info.return, length: info.length });
        ctx.progress.advance(
          1,
          `episode ${index}: return ${info.return.toFixed(1)} in ${info.length} steps`,
        );
      }
    }
  } finally {
    driver.close();
    const index = await writer.close();
    if (index.episodes_count === p.episodes) {
      // Rollouts of a controller that learned from reality carry that into every model after.
      const own = trainedInReality(file)
        ? [
          `worldmodels/collect_controller: a controller trained ${describeTraining(file)}`,
        ]
        : [];
      await writeLineage(
        ctx.output("rollouts"),
        await mergeLineage([ctx.inputs.controller, ctx.inputs.vae, ctx.inputs.rnn], own),
      );
      ctx.metrics.log(p.episodes, {
        mean_return: index.mean_return,
        mean_length: index.mean_length,
        frames: index.frames_count,
      });
      ctx.report({ frames: index.frames_count, episodes: p.episodes, solution: solution.name });
      ctx.log(
        `${p.episodes} episodes, ${index.frames_count} frames, mean return ${
          index.mean_return.toFixed(1)
        }`,
      );
    }
  }
}

/** The `worldmodels/collect_controller` stage module. */
export default defineStage<CollectControllerParams>({
  description: "Rollouts of a trained controller with action noise, in collect's format",
  params: {
    episodes: { type: "integer", default: 100, min: 1, description: "number of episodes" },
    max_steps: { type: "integer", default: 1000, min: 1, description: "step limit of an episode" },
    action_noise: {
      type: "number",
      default: 0.1,
      min: 0,
      description: "std of the Gaussian noise added to each action dimension (then clipped)",
    },
    solution: {
      type: "string",
      default: "auto",
      enum: SOLUTIONS,
      description: "auto (best evaluated mean, else the mean), best_eval, mean or best candidate",
    },
    envs: {
      type: "integer",
      default: 16,
      min: 1,
      description: "environments stepped at once (the output does not depend on it)",
    },
    backend: {
      type: "string",
      default: "wasm",
      enum: SYNC_BACKEND_NAMES,
      description: "TensorFlow.js backend running the models",
    },
  },
  inputs: {
    controller: { description: "the controller (worldmodels/train_controller output)" },
    vae: { description: "the ConvVAE the controller was trained with" },
    rnn: { description: "the MDN-RNN (needed when the controller sees h)", optional: true },
  },
  outputs: ["rollouts"],
  deterministic: true,
  run: collectController,
});
