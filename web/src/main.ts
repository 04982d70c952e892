/**
 * The page: loads a model (the bundled demo, the one `vqvae serve` offers, or
 * files the user picks), reconstructs what the user draws with the code grid
 * drawn over it, lets the user change a cell's code, shows the codebook, and
 * samples from the prior when the model folder has one.
 *
 * A model with several code levels (residual VQ: one grid per depth; a
 * two-level VQ-VAE-2 model: top and bottom) gets one grid per level, each
 * editable, and usage bars and tiles per level.
 *
 * For tests and curious users, <body> carries the state as data attributes:
 * data-status (loading | ready | error), data-backend, data-codes (the first
 * level's grid, comma-separated), data-level-codes (every level's grid, JSON
 * [[...], ...]), data-edits (a counter), data-reconstructions (a counter) and
 * data-first-reconstruction-ms (from the first stroke to its reconstruction
 * on screen), data-last-reconstruction-ms (encode + decode + drawing, the
 * latest one).
 */
import { hopLength, isUserError, type ModelConfig } from 'vqvae';
import { pickBackend } from './backend.js';
import { CodebookView } from './codebookView.js';
import { CodeGridView } from './codeGridView.js';
import { DrawingPad } from './drawing.js';
import { drawPixels } from './images.js';
import { AudioPanel } from './audioPanel.js';
import { fetchBundle, filesBundle, openBundle, type Bundle, type OpenedAudio, type OpenedModel } from './load.js';
import { SamplePanel } from './samplePanel.js';
import { ModelSession, type CodeLevel } from './session.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page element #${id} is missing`);
  return element as T;
};

const body = document.body;
const status = $('status');
const message = $('message');

function showMessage(error: unknown): void {
  const text = isUserError(error) ? error.message : `Something went wrong: ${(error as Error)?.message ?? String(error)}`;
  message.textContent = text;
  message.hidden = false;
  console.error(error);
}

function clearMessage(): void {
  message.hidden = true;
  message.textContent = '';
}

window.addEventListener('error', (e) => showMessage(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => showMessage(e.reason));

let session: ModelSession | undefined;
let opened: OpenedModel | undefined;
/** One Int32Array [h, w] per level. */
let codes: Int32Array[] = [];
/** Edited cells, per level. */
let edited: Set<number>[] = [];
let selected: { level: number; cell: number } | undefined;
/** The level whose codebook the panel shows (and whose cell a picked code goes to). */
let activeLevel = 0;
let decoded: Uint8Array = new Uint8Array(0);
let strokeStart: number | undefined;
let reconstructions = 0;
let busy = false;
let pending = false;

const pad = new DrawingPad($<HTMLCanvasElement>('draw'));
const samples = new SamplePanel({
  panel: $('sample-panel'),
  canvas: $<HTMLCanvasElement>('sample-canvas'),
  button: $<HTMLButtonElement>('sample'),
  classSelect: $<HTMLSelectElement>('sample-class'),
  classLabel: $('class-label'),
  temperature: $<HTMLInputElement>('temperature'),
  status: $('sample-status'),
  onError: showMessage,
});

const audio = new AudioPanel({
  panel: $('audio-panel'),
  file: $<HTMLInputElement>('audio-file'),
  drop: $('audio-drop'),
  record: $<HTMLButtonElement>('record'),
  input: $<HTMLAudioElement>('audio-input'),
  inputInfo: $('audio-input-info'),
  codes: $('audio-codes'),
  source: $<HTMLSelectElement>('audio-source'),
  progress: $<HTMLProgressElement>('audio-progress'),
  progressText: $('audio-progress-text'),
  outputs: $('audio-outputs'),
  examples: $('audio-examples'),
  onError: showMessage,
});
/** Whether the model shown is an audio model (then the image panels are hidden). */
let audioShown = false;
const IMAGE_PANELS = ['draw-panel', 'recon-panel', 'codebook-panel'];

/** What the page shows of one code level: its grid over the reconstruction, its usage bars and tiles. */
interface LevelViews {
  view: CodeGridView;
  codebook: CodebookView;
  tiles: HTMLElement;
  /** The elements made for this level (none for the first, which the page has), removed on the next model. */
  made: HTMLElement[];
}

/** The first level's views, on the page's own elements (made once: each view listens to its canvas). */
const firstLevel: LevelViews = {
  view: new CodeGridView($<HTMLCanvasElement>('recon'), (cell) => selectCell(0, cell)),
  codebook: new CodebookView($<HTMLCanvasElement>('usage'), $('usage-caption'), $('tiles'), (code) => void setCode(code)),
  tiles: $('tiles'),
  made: [],
};
let levels: LevelViews[] = [firstLevel];
let showGrid = true;

/** Grid, usage bars and tiles for each level of the model; the first level's are the page's own elements. */
function makeLevelViews(s: ModelSession): void {
  for (const level of levels) for (const element of level.made) element.remove();
  levels = [firstLevel];
  let lastTiles = firstLevel.tiles;
  const multi = s.levels.length > 1;
  $('recon-panel').classList.toggle('multi', multi);
  const caption = $('recon-caption');
  caption.hidden = !multi;
  caption.textContent = describeLevel(s.levels[0]!);
  const picker = $('level-picker');
  picker.hidden = !multi;
  picker.replaceChildren();
  s.levels.forEach((level, i) => {
    if (i > 0) {
      const figure = document.createElement('figure');
      figure.className = 'level';
      const canvas = document.createElement('canvas');
      canvas.id = `recon-${i}`;
      canvas.width = 280;
      canvas.height = 280;
      canvas.title = 'Click a cell to change its code';
      const label = document.createElement('figcaption');
      label.textContent = describeLevel(level);
      figure.append(canvas, label);
      $('grids').append(figure);
      const usageCaption = document.createElement('p');
      usageCaption.className = 'hint';
      usageCaption.id = `usage-caption-${i}`;
      const usage = document.createElement('canvas');
      usage.id = `usage-${i}`;
      usage.width = 640;
      usage.height = 120;
      $('usage-levels').append(usageCaption, usage);
      const tiles = document.createElement('div');
      tiles.id = `tiles-${i}`;
      tiles.className = 'tiles';
      lastTiles.after(tiles);
      lastTiles = tiles;
      levels.push({
        view: new CodeGridView(canvas, (cell) => selectCell(i, cell)),
        codebook: new CodebookView(usage, usageCaption, tiles, (code) => void setCode(code)),
        tiles,
        made: [figure, usageCaption, usage, tiles],
      });
    }
    if (multi) {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.level = String(i);
      button.textContent = `${level.name} codebook (${level.codebookSize})`;
      button.addEventListener('click', () => showLevel(i));
      picker.append(button);
    }
  });
  for (const level of levels) level.view.showGrid = showGrid;
  $('tiles-caption').textContent = 'Each code decoded alone (the whole grid set to that code). Click one to put it in the selected cell.';
  showLevel(0);
}

function describeLevel(level: CodeLevel): string {
  return `${level.name}: ${level.height}×${level.width} codes of ${level.codebookSize}`;
}

/** Shows the tiles of `level`'s codebook (where a picked code goes). */
function showLevel(level: number): void {
  activeLevel = level;
  const caption = $('tiles-caption');
  if (session && session.levels.length > 1) {
    caption.textContent = `Each code of the ${session.levels[level]!.name} codebook decoded alone: that grid set to the code, the other levels keeping the codes of the empty canvas. Click one to put it in the selected cell.`;
  }
  levels.forEach((l, i) => (l.tiles.hidden = i !== level));
  for (const button of $('level-picker').querySelectorAll('button')) button.classList.toggle('active', button.dataset.level === String(level));
  body.dataset.activeLevel = String(level);
}

function drawView(): void {
  if (!session) return;
  const s = session;
  levels.forEach((l, i) => {
    const level = s.levels[i]!;
    l.view.draw({
      pixels: decoded,
      size: s.imageSize,
      codes: codes[i] ?? new Int32Array(0),
      gridHeight: level.height,
      gridWidth: level.width,
      edited: edited[i] ?? new Set(),
      ...(selected?.level === i ? { selected: selected.cell } : {}),
    });
  });
  body.dataset.codes = Array.from(codes[0] ?? []).join(',');
  body.dataset.levelCodes = JSON.stringify(codes.map((c) => Array.from(c)));
  $<HTMLButtonElement>('reset-edits').disabled = edited.every((e) => e.size === 0);
}

/** Encodes the pad and decodes its codes; if called while busy, runs once more afterwards. */
async function reconstruct(): Promise<void> {
  if (!session) return;
  if (busy) {
    pending = true;
    return;
  }
  busy = true;
  try {
    const s = session;
    const started = performance.now();
    const pixels = pad.pixels(s.height, s.width, s.channels);
    const preview = $<HTMLCanvasElement>('input-preview');
    drawPixels(preview.getContext('2d')!, pixels, s.imageSize, [0, 0, preview.width, preview.height]);
    const newCodes = await s.encode(pixels);
    if (s !== session) return; // another model was opened meanwhile
    const newDecoded = await s.decode(newCodes);
    if (s !== session) return;
    codes = newCodes;
    decoded = newDecoded;
    edited = s.levels.map(() => new Set<number>());
    selected = undefined;
    for (const l of levels) l.codebook.markCurrent(undefined);
    drawView();
    reconstructions++;
    body.dataset.lastReconstructionMs = (performance.now() - started).toFixed(2);
    body.dataset.reconstructions = String(reconstructions);
    if (strokeStart !== undefined && body.dataset.firstReconstructionMs === undefined) {
      body.dataset.firstReconstructionMs = (performance.now() - strokeStart).toFixed(1);
    }
    if (!opened?.examples) showUsage(s, await s.usage(pixels, 1), 'your drawing');
  } catch (error) {
    showMessage(error);
  } finally {
    busy = false;
    if (pending) {
      pending = false;
      void reconstruct();
    }
  }
}

function showUsage(s: ModelSession, counts: Int32Array[], source: string): void {
  counts.forEach((c, i) => levels[i]?.codebook.showUsage(c, source, s.levels.length > 1 ? s.levels[i]!.name : undefined));
}

function selectCell(level: number, cell: number): void {
  if (!session) return;
  selected = { level, cell };
  showLevel(level);
  const { width, name } = session.levels[level]!;
  const row = Math.floor(cell / width);
  const col = cell % width;
  const where = session.levels.length > 1 ? `${name} grid, ` : '';
  $('edit-hint').textContent = `Cell (${where}row ${row}, column ${col}) holds code ${codes[level]![cell]}. Pick another code from the codebook below.`;
  levels.forEach((l, i) => l.codebook.markCurrent(i === level ? codes[level]![cell] : undefined));
  drawView();
}

async function setCode(code: number): Promise<void> {
  if (!session) return;
  if (selected === undefined || selected.level !== activeLevel) {
    $('edit-hint').textContent = `Click a cell of the ${session.levels.length > 1 ? `${session.levels[activeLevel]!.name} ` : ''}grid first, then code ${code} goes there.`;
    return;
  }
  const { level, cell } = selected;
  codes[level]![cell] = code;
  edited[level]!.add(cell);
  levels[level]!.codebook.markCurrent(code);
  $('edit-hint').textContent = $('edit-hint').textContent!.replace(/holds code \d+\./, `now holds code ${code}.`);
  decoded = await session.decode(codes);
  drawView();
  body.dataset.edits = String(Number(body.dataset.edits ?? 0) + 1);
}

/** Resolves once no reconstruction runs and no stroke is being drawn: background work gives way to them. */
async function idle(): Promise<void> {
  do await new Promise((resolve) => setTimeout(resolve, busy || pad.isDrawing ? 50 : 0));
  while (busy || pending || pad.isDrawing);
}

/** Thrown to abandon background work for a model that has been replaced. */
const REPLACED = new Error('model replaced');

/** Usage bars and the tile of every code, in small steps that give way to drawing. */
async function fillCodebook(s: ModelSession, model: OpenedModel): Promise<void> {
  const step = async (): Promise<void> => {
    await idle();
    if (s !== session) throw REPLACED;
  };
  try {
    await step();
    levels.forEach((l, i) => l.codebook.resetTiles(s.levels[i]!.codebookSize));
    if (model.examples) {
      const counts = await s.usage(model.examples.images, model.examples.count, 16, step);
      showUsage(s, counts, `${model.examples.count} example images`);
    }
    // The other levels of a tile keep the codes of the empty canvas.
    const base = await s.encode(new Uint8Array(s.height * s.width * s.channels));
    const chunk = 8;
    for (let level = 0; level < s.levels.length; level++) {
      const k = s.levels[level]!.codebookSize;
      for (let first = 0; first < k; first += chunk) {
        await step();
        const n = Math.min(chunk, k - first);
        const pixels = await s.codeImages(level, first, n, base);
        if (s !== session) throw REPLACED;
        levels[level]!.codebook.drawTiles(first, pixels, n, s.imageSize);
      }
    }
    body.dataset.codebook = 'ready';
  } catch (error) {
    if (error !== REPLACED) throw error;
  }
}

/** The quantizer and its settings, in words: "VQ", "EMA, lookup dim 8, cosine", "FSQ levels 8,5,5,5", "RVQ depth 4". */
function quantizerWords(c: ModelConfig): string {
  const words = [c.quantizer.toUpperCase()];
  if (c.quantizer === 'fsq') words[0] += ` levels ${c.levels.join(',')}`;
  if (c.quantizer === 'rvq') words[0] += ` depth ${c.depth}`;
  if (c.lookupDim > 0) words.push(`lookup dim ${c.lookupDim}`);
  if (c.cosine) words.push('cosine');
  return words.join(', ');
}

function describeModel(model: OpenedModel, s: ModelSession): string {
  const c = model.config;
  const trained = model.training ? `, trained ${model.training.step} steps on ${model.training.data}` : '';
  const images = `${c.imageHeight}×${c.imageWidth}×${c.inputChannels} images`;
  const rest = `${quantizerWords(c)}, hidden ${c.hidden})${trained}.`;
  const name = `Model${model.label ? ` ${model.label}` : ''}`;
  if (model.top && model.image.kind === 'vqvae2') {
    // An rvq level is one grid per depth on the page (session.ts): "top depth 1", "top depth 2", ...
    const grid = (level: 'top' | 'bottom') => {
      const grids = s.levels.filter((l) => l.name === level || l.name.startsWith(`${level} depth `));
      const { height, width, codebookSize } = grids[0]!;
      return grids.length > 1
        ? `${height}×${width}×${grids.length} codes (one per depth) from ${grids.length} codebooks of ${codebookSize}`
        : `${height}×${width} codes from a codebook of ${codebookSize}`;
    };
    return (
      `${name} (two levels): ${images} → a top grid of ${grid('top')} ` +
      `(D ${model.top.codeDim}, ${quantizerWords(model.image.vqvae.levelConfigs.top)}) ` +
      `and a bottom grid of ${grid('bottom')} (D ${c.codeDim}, ${rest}`
    );
  }
  const depth = s.levels.length > 1 ? `×${s.levels.length} codes (one per depth) from ${s.levels.length} codebooks` : ' codes from a codebook';
  return `${name}: ${images} → ${s.gridHeight}×${s.gridWidth}${depth} of ${c.codebookSize} (D ${c.codeDim}, ${rest}`;
}

function useAudio(model: OpenedAudio): void {
  session?.dispose();
  session = undefined;
  opened = undefined;
  samples.setModel(undefined, undefined);
  for (const id of IMAGE_PANELS) $(id).hidden = true;
  audioShown = true;
  const c = model.audio.model;
  const training = model.audio.training as { step?: unknown; data?: unknown } | undefined;
  const trained = typeof training?.step === 'number' ? `, trained ${training.step} steps on ${String(training.data)}` : '';
  status.textContent =
    `Audio model${model.label ? ` ${model.label}` : ''}: speech at ${c.sampleRate} Hz → one code per ${hopLength(c)} samples from a codebook of ${c.codebookSize} ` +
    `(D ${c.codeDim}, ${c.quantizer.toUpperCase()}) → a WaveNet of ${c.dilations.length} layers (${c.residualChannels} residual channels) in the voice of one of ` +
    `${model.audio.speakers.length} speakers (${model.audio.speakers.join(', ')})${trained}.`;
  audio.setModel(model.audio, model.examples);
}

function use(model: OpenedModel | OpenedAudio): void {
  if (model.kind === 'audio') {
    useAudio(model);
    return;
  }
  if (audioShown) {
    audio.setModel(undefined);
    for (const id of IMAGE_PANELS) $(id).hidden = false;
    audioShown = false;
  }
  session?.dispose();
  opened = model;
  session = new ModelSession(model.image);
  const c = model.config;
  status.textContent = describeModel(model, session);
  $('input-size').textContent = `${c.imageHeight}×${c.imageWidth}`;
  const preview = $<HTMLCanvasElement>('input-preview');
  preview.width = c.imageWidth;
  preview.height = c.imageHeight;
  delete body.dataset.codebook;
  makeLevelViews(session);
  codes = [];
  edited = [];
  selected = undefined;
  // Priors here sample one grid of single codes: a one-level model's.
  samples.setModel(session, session.levels.length === 1 ? model.prior : undefined);
  pad.clear();
  const s = session;
  void reconstruct()
    .then(() => fillCodebook(s, model))
    .catch(showMessage);
}

async function openAndUse(bundle: Promise<Bundle | undefined>, what: string): Promise<boolean> {
  try {
    const b = await bundle;
    if (!b) return false;
    const model = openBundle(b);
    clearMessage();
    use(model);
    return true;
  } catch (error) {
    showMessage(error);
    if (session || audioShown) status.textContent += ` (still showing this model: ${what} did not load)`;
    return true;
  }
}

async function loadDefault(): Promise<void> {
  // `vqvae serve` offers its model at model/; a plain static copy of the page has only the demo.
  if (!(await openAndUse(fetchBundle('model/'), 'model/'))) {
    if (!(await openAndUse(fetchBundle('demo-model/'), 'the demo model'))) {
      showMessage(new Error('no model found at model/ or demo-model/ next to this page; open one with "Open model folder…"'));
    }
  }
}

function pickedFiles(input: HTMLInputElement): void {
  const files = Array.from(input.files ?? []);
  input.value = '';
  if (files.length > 0) void openAndUse(filesBundle(files), 'the picked files');
}

async function start(): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('backend') ?? undefined;
  const backend = await pickBackend(wanted);
  body.dataset.backend = backend.name;
  $('backend').textContent =
    `TensorFlow.js backend: ${backend.name}` + (backend.skipped.length ? ` (not available here: ${backend.skipped.join('; ')})` : '') + '.';
  pad.onChange = () => void reconstruct();
  pad.onStrokeStart = (time) => {
    if (strokeStart === undefined) strokeStart = time;
  };
  $('clear').addEventListener('click', () => pad.clear());
  $<HTMLInputElement>('image-file').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file) void pad.loadImage(file).catch(showMessage);
  });
  $<HTMLInputElement>('show-grid').addEventListener('change', (e) => {
    showGrid = (e.target as HTMLInputElement).checked;
    for (const l of levels) {
      l.view.showGrid = showGrid;
      l.view.redraw();
    }
  });
  $('reset-edits').addEventListener('click', () => void reconstruct());
  $<HTMLInputElement>('model-files').addEventListener('change', (e) => pickedFiles(e.target as HTMLInputElement));
  $<HTMLInputElement>('model-folder').addEventListener('change', (e) => pickedFiles(e.target as HTMLInputElement));
  $('load-demo').addEventListener('click', () => void loadDefault());
  await loadDefault();
  body.dataset.status = session || audioShown ? 'ready' : 'error';
}

start().catch((error) => {
  body.dataset.status = 'error';
  showMessage(error);
});
