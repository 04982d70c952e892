/**
 * TensorFlow.js core with its gradients registered. Import this, not
 * '@tensorflow/tfjs-core' directly, wherever something is differentiated:
 * tfjs-core's Node bundle registers no gradients by itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import './vendor/tfjs-gradients.js';

// PROD drops tfjs's debug checks and its banner telling Node users to install
// tfjs-node, which cannot be installed here (its install step downloads
// libtensorflow); the backends this package picks are in backend/select.ts.
tf.env().set('PROD', true);

export { tf };
