/**
 * The audio model's panel: speech in (a WAV file dropped or picked, another
 * audio file the browser can decode, a recording from the microphone, or one
 * of the test utterances `vqvae export` put with the model),
 * its codes, and the same codes decoded with each speaker's voice: for the
 * speaker the input is from, the reconstruction; for the others, the speech
 * converted to their voice. Decoding samples the WaveNet one step at a time
 * with cached activations in JavaScript (the library's Generation), in
 * slices that leave the page responsive, with progress shown. Each output is
 * a 16-bit WAV (the library's WAV writer) in an <audio> player.
 *
 * Speaker s's output is drawn with the random numbers of mulberry32(s), so a
 * run is reproducible. <body> carries data-audio-status (idle | encoding |
 * generating | done), data-audio-codes (comma-separated), data-audio-progress
 * (samples done of all speakers, 0..1) and data-audio-outputs (a counter).
 */
import {
  Generation,
  JsStepKernel,
  UserError,
  decodeWav,
  encodeSamples,
  encodeWavBytes,
  hopLength,
  mulberry32,
  muLawDecode,
  resample,
  type LoadedAudioModel,
} from 'vqvae';
import type { AudioExample } from './load.js';

/** The longest input decoded (seconds): generation in JavaScript takes about a second per second per speaker. */
export const MAX_SECONDS = 4;
/** Samples generated between two looks at the page (progress, clicks). */
const SLICE = 2000;

export interface AudioPanelElements {
  panel: HTMLElement;
  file: HTMLInputElement;
  drop: HTMLElement;
  record: HTMLButtonElement;
  input: HTMLAudioElement;
  inputInfo: HTMLElement;
  codes: HTMLElement;
  source: HTMLSelectElement;
  progress: HTMLProgressElement;
  progressText: HTMLElement;
  outputs: HTMLElement;
  /** Where the buttons of the model's example utterances go. */
  examples: HTMLElement;
  onError: (error: unknown) => void;
}

/** Mono samples of any audio file the browser decodes (a recording's webm/ogg), at its own rate. */
async function decodeWithBrowser(bytes: ArrayBuffer, name: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  const context = new AudioContext();
  try {
    const buffer = await context.decodeAudioData(bytes);
    const samples = new Float32Array(buffer.length);
    for (let c = 0; c < buffer.numberOfChannels; c++) {
      const channel = buffer.getChannelData(c);
      for (let i = 0; i < samples.length; i++) samples[i]! += channel[i]! / buffer.numberOfChannels;
    }
    return { samples, sampleRate: buffer.sampleRate };
  } catch {
    throw new UserError(`${name}: not audio this browser can decode; drop a WAV file`);
  } finally {
    void context.close();
  }
}

function wavUrl(samples: Float32Array, sampleRate: number): string {
  return URL.createObjectURL(new Blob([encodeWavBytes(samples, sampleRate, 'pcm16') as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }));
}

export class AudioPanel {
  private model: LoadedAudioModel | undefined;
  /** Bumped by each new input or model: a generation for an older one stops. */
  private run = 0;
  private urls: string[] = [];
  private recorder: MediaRecorder | undefined;

  constructor(private readonly el: AudioPanelElements) {
    el.file.addEventListener('change', () => {
      const file = el.file.files?.[0];
      el.file.value = '';
      if (file) void this.openFile(file);
    });
    el.drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      el.drop.classList.add('dragover');
    });
    el.drop.addEventListener('dragleave', () => el.drop.classList.remove('dragover'));
    el.drop.addEventListener('drop', (e) => {
      e.preventDefault();
      el.drop.classList.remove('dragover');
      const file = e.dataTransfer?.files[0];
      if (file) void this.openFile(file);
    });
    el.source.addEventListener('change', () => this.label());
    const canRecord = typeof MediaRecorder !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;
    el.record.disabled = !canRecord;
    if (!canRecord) el.record.title = 'this browser cannot record here (the microphone needs https or localhost)';
    el.record.addEventListener('click', () => void this.toggleRecording());
  }

  /** Shows the panel for `model` (undefined: hides it), with buttons for its example utterances. */
  setModel(model: LoadedAudioModel | undefined, examples: readonly AudioExample[] = []): void {
    this.model?.vqvae.dispose();
    this.model = model;
    this.run++;
    this.clearOutputs();
    this.el.panel.hidden = !model;
    document.body.dataset.audioStatus = 'idle';
    if (!model) return;
    this.el.source.replaceChildren(...model.speakers.map((name, i) => new Option(name, String(i))));
    this.el.inputInfo.textContent = `Drop or pick a WAV file (mono; any rate, resampled to the model's ${model.model.sampleRate} Hz), or record up to ${MAX_SECONDS} s.`;
    this.el.codes.textContent = '';
    this.el.input.removeAttribute('src');
    const rate = model.model.sampleRate;
    this.el.examples.hidden = examples.length === 0;
    this.el.examples.replaceChildren(
      ...(examples.length ? [Object.assign(document.createElement('span'), { textContent: 'Or a test utterance:' })] : []),
      ...examples.map((example, i) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.example = String(i);
        const who = model.speakers[example.speaker];
        const name = `example ${i + 1}${who ? ` (${who})` : ''}`;
        button.textContent = `${name}, ${(example.samples.length / rate).toFixed(1)} s`;
        button.addEventListener('click', () => {
          if (who) this.el.source.value = String(example.speaker);
          void this.use(example.samples, rate, name).catch(this.el.onError);
        });
        return button;
      }),
    );
  }

  private clearOutputs(): void {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    this.el.outputs.replaceChildren();
    this.el.progress.value = 0;
    this.el.progressText.textContent = '';
  }

  async openFile(file: Blob & { name?: string }): Promise<void> {
    const name = file.name || 'the recording';
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const isWav = bytes.length >= 4 && String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF';
      const audio = isWav || /\.wav$/i.test(name) ? decodeWav(bytes, name) : await decodeWithBrowser(bytes.buffer, name);
      await this.use(audio.samples, audio.sampleRate, name);
    } catch (error) {
      this.el.onError(error);
    }
  }

  private async toggleRecording(): Promise<void> {
    if (this.recorder) {
      this.recorder.stop();
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const recorder = new MediaRecorder(stream);
      const chunks: Blob[] = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      const stopped = new Promise<void>((resolve) => (recorder.onstop = () => resolve()));
      this.recorder = recorder;
      recorder.start();
      this.el.record.textContent = 'Stop recording';
      const timer = setTimeout(() => recorder.state === 'recording' && recorder.stop(), MAX_SECONDS * 1000);
      await stopped;
      clearTimeout(timer);
      for (const track of stream.getTracks()) track.stop();
      this.recorder = undefined;
      this.el.record.textContent = 'Record';
      await this.openFile(new Blob(chunks, { type: recorder.mimeType }));
    } catch (error) {
      this.recorder = undefined;
      this.el.record.textContent = 'Record';
      this.el.onError(error instanceof DOMException ? new UserError(`the microphone: ${error.message}`) : error);
    }
  }

  /** Encodes the input, then decodes its codes with every speaker in turn. */
  private async use(input: Float32Array, inputRate: number, name: string): Promise<void> {
    const loaded = this.model;
    if (!loaded) return;
    const run = ++this.run;
    const body = document.body;
    const { vqvae, speakers } = loaded;
    const rate = vqvae.config.sampleRate;
    let samples = inputRate === rate ? input : resample(input, inputRate, rate);
    const notes = [`${name}: ${(input.length / inputRate).toFixed(2)} s at ${inputRate} Hz`];
    if (inputRate !== rate) notes.push(`resampled to ${rate} Hz`);
    if (samples.length > MAX_SECONDS * rate) {
      samples = samples.slice(0, MAX_SECONDS * rate);
      notes.push(`the first ${MAX_SECONDS} s used`);
    }
    this.clearOutputs();
    body.dataset.audioStatus = 'encoding';
    const inputUrl = wavUrl(samples, rate);
    this.urls.push(inputUrl);
    this.el.input.src = inputUrl;
    this.el.inputInfo.textContent = `${notes.join(', ')}.`;
    const codes = encodeSamples(vqvae, samples);
    const hop = hopLength(vqvae.config);
    body.dataset.audioCodes = Array.from(codes).join(',');
    this.el.codes.textContent =
      `${codes.length} codes (one per ${hop} samples, ${(rate / hop).toFixed(0)} per second) from a codebook of ${vqvae.config.codebookSize}: ` +
      Array.from(codes.subarray(0, 64)).join(' ') + (codes.length > 64 ? ' …' : '');
    body.dataset.audioStatus = 'generating';
    const total = codes.length * hop * speakers.length;
    for (let s = 0; s < speakers.length; s++) {
      const generation = new Generation(vqvae, codes, s, new JsStepKernel(), mulberry32(s));
      while (!generation.run(SLICE)) {
        const done = s * generation.total + generation.done;
        this.el.progress.value = done / total;
        this.el.progressText.textContent = `Decoding with ${speakers[s]}'s voice (${s + 1} of ${speakers.length}): ${Math.round((100 * generation.done) / generation.total)}%`;
        body.dataset.audioProgress = (done / total).toFixed(3);
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (run !== this.run) return; // a new input or model meanwhile
      }
      this.addOutput(s, muLawDecode(generation.levels, vqvae.config.levels), rate);
    }
    this.el.progress.value = 1;
    this.el.progressText.textContent = `Decoded with each of the ${speakers.length} speakers' voices.`;
    body.dataset.audioProgress = '1';
    body.dataset.audioStatus = 'done';
  }

  private addOutput(speaker: number, samples: Float32Array, rate: number): void {
    const url = wavUrl(samples, rate);
    this.urls.push(url);
    const item = document.createElement('li');
    item.dataset.speaker = String(speaker);
    const label = document.createElement('span');
    label.className = 'speaker-label';
    const player = document.createElement('audio');
    player.controls = true;
    player.src = url;
    const link = document.createElement('a');
    link.href = url;
    link.download = `${this.model!.speakers[speaker]}.wav`;
    link.textContent = 'WAV';
    item.append(label, player, link);
    this.el.outputs.append(item);
    this.label();
    document.body.dataset.audioOutputs = String(this.el.outputs.children.length);
  }

  /** Labels the outputs: the input's own speaker's is the reconstruction, the others conversions. */
  private label(): void {
    const source = Number(this.el.source.value);
    const names = this.model?.speakers ?? [];
    for (const item of this.el.outputs.querySelectorAll('li')) {
      const s = Number((item as HTMLElement).dataset.speaker);
      item.querySelector('.speaker-label')!.textContent = s === source ? `Reconstruction (${names[s]}, the input's voice)` : `Converted to ${names[s]}`;
    }
  }
}
