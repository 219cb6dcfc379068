// What `lmkit demo` runs: the seed article's pipeline at two sizes. The full
// run is sized to finish in about ten minutes on two cores, --quick in about
// two; every field says why it has its value. The numbers the demo reports
// are measured on whatever these settings produce, never fixed.

export interface DemoConfig {
  name: 'full' | 'quick';
  seed: number;
  /** Base decoder; its context (pretrain.block_size) must hold 2-shot prompts. */
  model: { n_layer: number; n_head: number; n_embd: number; position_embedding: 'learned' | 'rope' };
  /** Pre-training on tinyshakespeare (character level): the "pre-trained only" baseline; block_size is the context of every later stage. */
  pretrain: { iters: number; batch_size: number; block_size: number; learning_rate: number };
  /** Task instances per family: training pool and evaluation set (disjoint). */
  tasks: { trainPerTask: number; evalPerTask: number; heldOut: string[]; additionDigits: number; additionEval: number };
  /** Instruction fine-tuning on the training families (direct and worked forms). */
  sft: { iters: number; batch_size: number; learning_rate: number; group_by_length: boolean };
  /** Reward model: each prompt sampled once per temperature (K = temperatures.length) from the SFT model, ranked by the simulated labeler. */
  rm: { prompts: number; heldOutPrompts: number; temperatures: number[]; iters: number; learning_rate: number; labelerFlip: number };
  /** PPO against the reward model. */
  ppo: { iterations: number; batch_size: number; mini_batch_size: number; kl_target: number; init_kl_coef: number; learning_rate: number; evalPrompts: number };
  /** GLM: blank-infilling pre-training on the corpus, then cloze fine-tuning on sentiment. */
  glm: { n_layer: number; n_embd: number; pretrainIters: number; clozeIters: number; clozeTrain: number; clozeEval: number };
  /** Few-shot evaluations use this many demonstrations. */
  shots: number;
}

export const FULL_DEMO: DemoConfig = {
  name: 'full',
  seed: 1337,
  // Two layers are enough for the copying circuits the string tasks need (a previous-token head feeding an
  // induction head) and learn them sooner than four at the same cost; rotary positions make "the token after
  // the one I just copied" a relative offset, which learned positions must learn at every absolute position.
  model: { n_layer: 2, n_head: 4, n_embd: 128, position_embedding: 'rope' },
  pretrain: { iters: 1500, batch_size: 6, block_size: 256, learning_rate: 2e-3 },
  // 2-digit addition keeps the worked form inside the context with a demonstration before it. 200 additions
  // (not 50) give the paired test of worked steps against direct answers the power to see a gap of a few points.
  tasks: { trainPerTask: 2000, evalPerTask: 50, heldOut: ['copy'], additionDigits: 2, additionEval: 200 },
  // Random batches, not length-grouped: grouped batches hold one or two task families each, and from the same
  // pre-trained model 1500 steps reached SFT val loss 2.43 grouped against 1.73 random (2026-12-02).
  // Batch 24: at 32 the whole run took 11m07s on 2 idle cores (SFT 431 s of it), over the 10-minute budget.
  sft: { iters: 1500, batch_size: 24, learning_rate: 3e-3, group_by_length: false },
  rm: { prompts: 96, heldOutPrompts: 32, temperatures: [0.7, 1, 1.5, 2], iters: 150, learning_rate: 3e-4, labelerFlip: 0.05 },
  ppo: { iterations: 12, batch_size: 16, mini_batch_size: 8, kl_target: 2, init_kl_coef: 0.1, learning_rate: 5e-5, evalPrompts: 64 },
  glm: { n_layer: 2, n_embd: 128, pretrainIters: 300, clozeIters: 200, clozeTrain: 400, clozeEval: 100 },
  shots: 2,
};

/** The same pipeline about five times smaller: a smoke run whose numbers are weak by design. */
export const QUICK_DEMO: DemoConfig = {
  name: 'quick',
  seed: 1337,
  model: { n_layer: 2, n_head: 4, n_embd: 96, position_embedding: 'rope' },
  pretrain: { iters: 300, batch_size: 6, block_size: 256, learning_rate: 2e-3 },
  tasks: { trainPerTask: 500, evalPerTask: 20, heldOut: ['copy'], additionDigits: 2, additionEval: 60 },
  sft: { iters: 300, batch_size: 32, learning_rate: 3e-3, group_by_length: false },
  rm: { prompts: 32, heldOutPrompts: 16, temperatures: [0.7, 1, 1.5, 2], iters: 40, learning_rate: 3e-4, labelerFlip: 0.05 },
  ppo: { iterations: 4, batch_size: 8, mini_batch_size: 4, kl_target: 2, init_kl_coef: 0.1, learning_rate: 5e-5, evalPrompts: 16 },
  glm: { n_layer: 2, n_embd: 64, pretrainIters: 60, clozeIters: 60, clozeTrain: 200, clozeEval: 60 },
  shots: 2,
};
