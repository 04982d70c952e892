/**
 * TensorFlow.js core with its gradients registered. Import this, not
 * '@tensorflow/tfjs-core' directly, wherever something is differentiated:
 * tfjs-core's Node bundle registers no gradients by itself.
 */
import './vendor/tfjs-gradients.js';

export * as tf from '@tensorflow/tfjs-core';
