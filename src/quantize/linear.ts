/**
 * y = x W (+ b) on vectors [m, in] → [m, out], the learned projections of the
 * FSQ quantizer (fsq.ts) and the code map of SimVQ (simvq.ts). W is [in, out]
 * (tfjs's matMul layout; PyTorch's nn.Linear stores [out, in]); initialised
 * as PyTorch's nn.Linear, uniform in +-1/sqrt(in), weights and bias alike.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addVariable, uniform, type VariableMap } from '../model/layers.js';
import type { Rng } from '../random.js';

export class Linear {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    readonly inputs: number,
    readonly outputs: number,
    vars: VariableMap,
    name: string,
    rng: Rng,
    options: { bias?: boolean; weight?: tf.Tensor2D } = {},
  ) {
    const bound = 1 / Math.sqrt(inputs);
    const initial = options.weight ? tf.clone(options.weight) : uniform([inputs, outputs], bound, rng);
    if (initial.shape[0] !== inputs || initial.shape[1] !== outputs) {
      throw new Error(`${name}.weight must be [${inputs}, ${outputs}], found [${initial.shape.join(', ')}]`);
    }
    this.weight = addVariable(vars, `${name}.weight`, initial);
    if (options.bias ?? true) this.bias = addVariable(vars, `${name}.bias`, uniform([outputs], bound, rng));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    const y = tf.matMul(x, this.weight as tf.Tensor2D);
    return (this.bias ? tf.add(y, this.bias) : y) as tf.Tensor2D;
  }
}
