/**
 * The prior's panel: samples a code grid from the PixelCNN prior one cell at
 * a time in raster order, drawing the grid as it fills (each step decodes the
 * cells so far; the cells still to come are greyed), then the final image.
 * Shown only when the model folder has a prior/. For a class-conditional
 * prior the user picks the class. Each click draws with the next seed.
 */
import { samplePrior, type PixelCnn } from 'vqvae';
import { CodeGridView } from './codeGridView.js';
import type { PartBytes } from './load.js';
import { priorFromBytes } from './priorBytes.js';
import type { ModelSession } from './session.js';

export interface SamplePanelElements {
  panel: HTMLElement;
  canvas: HTMLCanvasElement;
  button: HTMLButtonElement;
  classSelect: HTMLSelectElement;
  classLabel: HTMLElement;
  temperature: HTMLInputElement;
  status: HTMLElement;
  onError: (error: unknown) => void;
}

export class SamplePanel {
  private prior: PixelCnn | undefined;
  private session: ModelSession | undefined;
  private readonly view: CodeGridView;
  private seed = 0;
  private running = false;

  constructor(private readonly el: SamplePanelElements) {
    this.view = new CodeGridView(el.canvas);
    el.button.addEventListener('click', () => void this.sample());
  }

  /** The model the samples decode with, and its prior's bytes (none: the panel hides). */
  setModel(session: ModelSession | undefined, prior: PartBytes | undefined): void {
    this.prior?.dispose();
    this.prior = undefined;
    this.session = session;
    this.el.panel.hidden = true;
    if (!prior || !session) return;
    try {
      this.prior = priorFromBytes(prior, session);
    } catch (error) {
      this.el.onError(error);
      return;
    }
    const { numClasses, layers, channels } = this.prior.config;
    this.el.classSelect.replaceChildren(
      ...Array.from({ length: numClasses }, (_, k) => new Option(String(k), String(k))),
    );
    this.el.classLabel.hidden = numClasses === 0;
    this.el.status.textContent =
      `Prior: PixelCNN, ${layers + 1} gated layers of ${channels} channels, ` +
      (numClasses > 0 ? `conditioned on ${numClasses} classes.` : 'unconditional.') +
      ' It picks the codes one cell at a time, in raster order; the decoder turns them into an image.';
    this.el.panel.hidden = false;
  }

  async sample(): Promise<void> {
    const prior = this.prior;
    const session = this.session;
    if (!prior || !session || this.running) return;
    this.running = true;
    this.el.button.disabled = true;
    const body = document.body;
    body.dataset.sampling = 'running';
    try {
      const cells = session.gridHeight * session.gridWidth;
      const temperature = Number(this.el.temperature.value) || 1;
      const classLabel = prior.config.numClasses > 0 ? Number(this.el.classSelect.value) : undefined;
      const show = async (codes: Int32Array, filled: number): Promise<void> => {
        const grid = codes.slice(0, cells);
        const pixels = await session.decode([grid]);
        this.view.draw({ pixels, size: session.imageSize, codes: grid, gridHeight: session.gridHeight, gridWidth: session.gridWidth, filled });
        body.dataset.sampleFilled = String(filled);
        await new Promise((resolve) => requestAnimationFrame(resolve));
      };
      const codes = await samplePrior(prior, {
        n: 1,
        temperature,
        seed: this.seed++,
        ...(classLabel !== undefined ? { classLabel } : {}),
        onPosition: (sofar, position) => show(sofar, position + 1),
      });
      await show(codes, cells);
      body.dataset.sampleCodes = Array.from(codes).join(',');
      body.dataset.samples = String(Number(body.dataset.samples ?? 0) + 1);
    } catch (error) {
      this.el.onError(error);
    } finally {
      this.running = false;
      this.el.button.disabled = false;
      body.dataset.sampling = 'done';
    }
  }
}
