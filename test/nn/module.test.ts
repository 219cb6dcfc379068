// Module: parameter discovery, names, tied weights, train/eval.
import t from 'tap';
import { Module } from '../../lib/nn/module.js';
import { Tensor, zeros } from '../../lib/tensor/tensor.js';

class Leaf extends Module {
  weight = zeros([2, 3], true);
  bias = zeros([2], true);
  buffer = zeros([4]); // not trainable
}
class Tree extends Module {
  wte = zeros([5, 3], true);
  h = [new Leaf(), new Leaf()];
  ln_f = new Leaf();
  lm_head: Tensor;
  constructor() {
    super();
    this.lm_head = this.wte; // tied
  }
}

t.test('namedParameters walks fields in order with dotted names; tied weights once', async (t) => {
  const m = new Tree();
  t.same(m.namedParameters().map(([n]) => n), [
    'wte', 'h.0.weight', 'h.0.bias', 'h.1.weight', 'h.1.bias', 'ln_f.weight', 'ln_f.bias',
  ]);
  t.equal(m.numParameters(), 15 + 3 * (6 + 2));
  m.eval();
  t.equal(m.h[1]!.training, false);
  m.train();
  t.equal(m.ln_f.training, true);
});
