// Worker for backend_test.ts: initialises the default backend and runs one op.
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../../src/models/backend/mod.ts";

const info = await initBackend();
const sum = (await tf.sum(tf.tensor1d([1, 2, 3])).data())[0];
(self as unknown as { postMessage(message: unknown): void }).postMessage({ name: info.name, sum });
