// Copies of models for the stages that start from another's weights: the PPO
// policy and reference are two copies of the SFT model, the value model a copy
// of the reward model, and each optimizer must own its own parameters.
import { DecoderLM } from '../models/decoder.js';
import type { Module } from '../nn/module.js';
import { ShapeError } from '../errors.js';

/** Copies every parameter of `from` into the same-named parameter of `to`. */
export function copyParameters(from: Module, to: Module): void {
  const target = new Map(to.namedParameters());
  for (const [name, p] of from.namedParameters()) {
    const q = target.get(name);
    if (!q || q.size !== p.size) throw new ShapeError('SHAPE_MISMATCH', `copyParameters: ${name} has no counterpart of ${p.size} values in the target model`);
    q.f32(name).set(p.f32(name));
  }
}

export function cloneDecoder(model: DecoderLM): DecoderLM {
  const copy = new DecoderLM(model.config, 0);
  copyParameters(model, copy);
  return copy;
}
