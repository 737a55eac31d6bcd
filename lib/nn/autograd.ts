/** Gradient modes: scopes in which libtorch records no graph. */
import { native } from './native';

/** Runs `fn` without recording gradients (parameter updates, evaluation). */
export function noGrad<R>(fn: () => R): R {
  const previous = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs `fn` with gradients recorded even inside a noGrad scope. */
export function enableGrad<R>(fn: () => R): R {
  const previous = native.isGradEnabled();
  native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/**
 * Runs `fn` in libtorch's inference mode: no graph and no version counters, the fastest
 * way to run a model. Tensors made inside cannot later take part in autograd.
 */
export function inferenceMode<R>(fn: () => R): R {
  native.enterInferenceMode();
  try {
    return fn();
  } finally {
    native.exitInferenceMode();
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}
