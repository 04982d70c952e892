/**
 * A model directory: `config.json` (the model's configuration, JSON) and
 * `weights.safetensors` (its tensors), saved so that a crash at any moment -
 * SIGKILL or power cut - leaves either the old complete checkpoint or the new
 * complete one loadable, never new weights with an old config or vice versa.
 *
 *   runs/mnist/
 *     config.json                  {"checkpoint_id": "6f1c...", "hidden": 128, ...}
 *     weights.safetensors          __metadata__ {"checkpoint_id": "6f1c...", ...}
 *     weights.previous.safetensors only while a save is under way (or was cut short)
 *
 * The scheme. Each save draws a fresh random `checkpoint_id` and writes it into
 * both files; `loadCheckpoint` accepts a weights file only if its id equals
 * config.json's. config.json is the commit point: a save
 *   1. keeps the weights that config.json currently points to as
 *      `weights.previous.safetensors` (a hard link, or a copy; atomic),
 *   2. writes the new `weights.safetensors` atomically,
 *   3. writes the new `config.json` atomically - from here on the new
 *      checkpoint is the one that loads,
 *   4. removes `weights.previous.safetensors`.
 * Every write is temp file + fsync + rename + directory fsync (atomicWrite.ts),
 * so the steps reach the disk in this order. A crash before 3 leaves the old
 * config.json, whose weights are in `weights.safetensors` (before 2) or in
 * `weights.previous.safetensors` (after 2), and loadCheckpoint finds them by id;
 * a crash after 3 leaves the new pair. Step 1 only ever replaces the previous
 * file with weights whose id matches the current config.json, so a second save
 * after a crashed one cannot destroy the only weights the old config can use.
 *
 * A directory written by hand or by another tool, with no `checkpoint_id` in
 * either file, loads too (both ids absent count as a match). Two processes
 * saving into one directory at once are not supported.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { CHECKPOINT_ID_KEY } from './checkpointId.js';
import { makeDirectory } from './directory.js';
import { fsyncDirectorySync, removeStaleTempFiles, tempPathFor, writeFileAtomicSync } from './atomicWrite.js';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type NamedTensor } from './safetensors.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'weights.safetensors';
export const PREVIOUS_WEIGHTS_FILE = 'weights.previous.safetensors';
/** The key that carries the id, in config.json and in the weights' `__metadata__`. */
export { CHECKPOINT_ID_KEY };

export interface Checkpoint {
  /** config.json as parsed, without `checkpoint_id`: the caller validates it. */
  config: unknown;
  tensors: Record<string, NamedTensor>;
  /** The weights' `__metadata__`, without `checkpoint_id`. */
  metadata: Record<string, string>;
  /** The id shared by both files; undefined for a directory without ids. */
  checkpointId: string | undefined;
}

/** What config.json holds, if it can be read: its id, possibly absent. */
type ConfigState = { readable: false } | { readable: true; id: string | undefined; config: Record<string, unknown> };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Removes `key` from a shallow copy of `object`. */
function without<T extends Record<string, unknown>>(object: T, key: string): T {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

/** Reads config.json for loading; every problem is a UserError. */
function readConfigForLoad(dir: string): { id: string | undefined; config: Record<string, unknown> } {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`no model at ${dir}: ${CONFIG_FILE} not found`);
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(parsed)) {
    throw new UserError(`${path}: expected a JSON object, found ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`);
  }
  const id = parsed[CHECKPOINT_ID_KEY];
  if (id !== undefined && typeof id !== 'string') {
    throw new UserError(`${path}: ${CHECKPOINT_ID_KEY} must be a string, found ${JSON.stringify(id)}`);
  }
  return { id, config: parsed };
}

/** Reads config.json for saving, where an unreadable one just means "nothing to protect". */
function readConfigForSave(dir: string): ConfigState {
  try {
    return { readable: true, ...readConfigForLoad(dir) };
  } catch (error) {
    if (error instanceof UserError) return { readable: false };
    throw error;
  }
}

/** A weights file decoded, or why not. */
type WeightsState =
  | { status: 'missing' }
  | { status: 'corrupt'; error: UserError }
  | { status: 'ok'; id: string | undefined; decoded: DecodedSafetensors };

function readWeights(path: string): WeightsState {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    throw error;
  }
  try {
    const decoded = decodeSafetensors(bytes, path);
    return { status: 'ok', id: decoded.metadata[CHECKPOINT_ID_KEY], decoded };
  } catch (error) {
    if (error instanceof UserError) return { status: 'corrupt', error };
    throw error;
  }
}

function matches(weights: WeightsState, id: string | undefined): boolean {
  return weights.status === 'ok' && weights.id === id;
}

/** True if both paths exist and name the same file (inode). */
function sameFile(a: string, b: string): boolean {
  const sa = fs.statSync(a, { throwIfNoEntry: false });
  const sb = fs.statSync(b, { throwIfNoEntry: false });
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

/**
 * Atomically makes `target` a second name for (or a copy of) `source`. A hard
 * link costs nothing; the copy is for file systems without links.
 */
function preserveAs(source: string, target: string, dir: string): void {
  // Already linked (a save died between steps 1 and 2). This matters: rename(2)
  // of one hard link onto another of the same file does nothing and would
  // leave the temp name behind.
  if (sameFile(source, target)) return;
  const temp = tempPathFor(target);
  try {
    try {
      fs.linkSync(source, temp);
    } catch {
      fs.copyFileSync(source, temp, fs.constants.COPYFILE_EXCL);
      const fd = fs.openSync(temp, 'r+');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fsyncDirectorySync(dir);
}

/**
 * Step 1 of the scheme: make sure the weights that config.json points to
 * survive the overwrite of weights.safetensors.
 */
function protectCommittedWeights(dir: string): void {
  const config = readConfigForSave(dir);
  if (!config.readable) return; // no loadable checkpoint to protect
  const current = join(dir, WEIGHTS_FILE);
  if (matches(readWeights(current), config.id)) {
    preserveAs(current, join(dir, PREVIOUS_WEIGHTS_FILE), dir);
  }
  // Otherwise an earlier save was cut short between steps 2 and 3, and the
  // previous file (if any) already holds the config's weights: keep it.
}

function checkSaveArguments(config: object, metadata: Record<string, string> | undefined): void {
  if (!isPlainObject(config)) {
    throw new Error(`saveCheckpoint: config must be a plain object, found ${Array.isArray(config) ? 'an array' : typeof config}`);
  }
  if (CHECKPOINT_ID_KEY in config) {
    throw new Error(`saveCheckpoint: config must not contain '${CHECKPOINT_ID_KEY}'; it is added by saveCheckpoint`);
  }
  if (metadata !== undefined && CHECKPOINT_ID_KEY in metadata) {
    throw new Error(`saveCheckpoint: metadata must not contain '${CHECKPOINT_ID_KEY}'; it is added by saveCheckpoint`);
  }
}

/**
 * Saves a checkpoint into `dir` (created if needed) with the crash-safe scheme
 * of the file header. Returns the new checkpoint id.
 */
export function saveCheckpoint(
  dir: string,
  config: object,
  tensors: Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): string {
  checkSaveArguments(config, metadata);
  const id = randomUUID();
  // Encode before touching the directory, so a bad tensor changes nothing.
  const weightBytes = encodeSafetensors(tensors, { ...metadata, [CHECKPOINT_ID_KEY]: id });
  const configText = `${JSON.stringify({ [CHECKPOINT_ID_KEY]: id, ...config }, null, 2)}\n`;

  makeDirectory(dir);
  for (const name of [CONFIG_FILE, WEIGHTS_FILE, PREVIOUS_WEIGHTS_FILE]) removeStaleTempFiles(join(dir, name));

  protectCommittedWeights(dir); // 1
  writeFileAtomicSync(join(dir, WEIGHTS_FILE), weightBytes); // 2
  writeFileAtomicSync(join(dir, CONFIG_FILE), configText); // 3: commit
  fs.rmSync(join(dir, PREVIOUS_WEIGHTS_FILE), { force: true }); // 4
  return id;
}

/**
 * Loads the checkpoint in `dir`: config.json and the weights whose
 * `checkpoint_id` matches it (weights.safetensors, or the previous weights
 * after a save that was cut short). Problems are UserErrors naming the file.
 */
export function loadCheckpoint(dir: string): Checkpoint {
  const { id, config } = readConfigForLoad(dir);
  const weightsPath = join(dir, WEIGHTS_FILE);
  const current = readWeights(weightsPath);
  const chosen = matches(current, id) ? current : readWeights(join(dir, PREVIOUS_WEIGHTS_FILE));

  if (chosen.status !== 'ok' || chosen.id !== id) {
    if (current.status === 'missing') {
      throw new UserError(`no weights at ${dir}: ${CONFIG_FILE} is there but ${WEIGHTS_FILE} was not found`);
    }
    if (current.status === 'corrupt') throw current.error;
    const show = (value: string | undefined): string => (value === undefined ? 'none' : JSON.stringify(value));
    throw new UserError(
      `${weightsPath} does not belong to ${join(dir, CONFIG_FILE)}: ${CHECKPOINT_ID_KEY} expected ${show(id)} (from ${CONFIG_FILE}), found ${show(current.id)}; the two files come from different saves`,
    );
  }
  return {
    config: without(config, CHECKPOINT_ID_KEY),
    tensors: chosen.decoded.tensors,
    metadata: without(chosen.decoded.metadata, CHECKPOINT_ID_KEY),
    checkpointId: id,
  };
}

/** True when `dir` holds a config.json (loadCheckpoint may still refuse a damaged one). */
export function checkpointExists(dir: string): boolean {
  return fs.existsSync(join(dir, CONFIG_FILE));
}
