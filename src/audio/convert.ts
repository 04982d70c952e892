/**
 * Speech through the audio VQ-VAE: encode a waveform to codes, and decode
 * codes with any speaker's embedding, one sample at a time (generate.ts).
 * Decoding a speaker's codes with another speaker is voice conversion.
 * The bytes-only parts (encodeSamples, padToHop) are in speech.ts.
 */
import { generateLevels, type GenerateOptions } from './generate.js';
import type { AudioVqVae } from './model.js';
import { muLawDecode } from './mulaw.js';

export { encodeSamples, padToHop } from './speech.js';

/** A waveform [frames * hop] in [-1, 1] decoded from codes with `speaker`'s voice. */
export function decodeCodes(model: AudioVqVae, indices: Int32Array, speaker: number, options: GenerateOptions): Float32Array {
  return muLawDecode(generateLevels(model, indices, speaker, options), model.config.levels);
}
