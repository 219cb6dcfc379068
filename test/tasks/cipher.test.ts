// The cipher task: a fixed substitution that moves every letter, checked
// letter by letter against the QWERTY rows written out here; instances
// answer with the enciphered input; it is known by name but kept out of
// the demo's suite.
import t from 'tap';
import { CIPHER, CIPHER_KEY, encipher } from '../../lib/tasks/cipher.js';
import { generateInstances } from '../../lib/tasks/instances.js';
import { TASK_NAMES, getTask } from '../../lib/tasks/registry.js';
import { resolveParams } from '../../lib/tasks/types.js';
import { Random } from '../../lib/tensor/random.js';

t.test('the key: a permutation of a–z with no letter left in place', async (t) => {
  t.equal(CIPHER_KEY, 'qwertyuiop' + 'asdfghjkl' + 'zxcvbnm', 'the keyboard rows, top to bottom');
  t.equal([...new Set(CIPHER_KEY)].sort().join(''), 'abcdefghijklmnopqrstuvwxyz', 'a permutation');
  t.same([...'abcdefghijklmnopqrstuvwxyz'].filter((ch, i) => CIPHER_KEY[i] === ch), [], 'no fixed point: a copy is never right');
  t.equal(encipher('abc'), 'qwe');
  t.equal(encipher('zebra'), 'mtwkq');
  t.equal(encipher('hello'), 'itssg');
});

t.test('instances: a random word and its translation, distinct, within the length bounds', async (t) => {
  const xs = generateInstances('cipher', 200, new Random(3), { minLength: 3, maxLength: 6 });
  t.equal(new Set(xs.map((x) => x.input)).size, 200);
  for (const x of xs) {
    t.equal(x.answer, encipher(x.input));
    t.ok(x.input.length >= 3 && x.input.length <= 6 && /^[a-z]+$/.test(x.input), x.input);
  }
  t.same(resolveParams(CIPHER), { minLength: 3, maxLength: 8 });
});

t.test('known by name, outside the demo\'s instruction-tuning suite', async (t) => {
  t.equal(getTask('cipher'), CIPHER);
  t.notOk(TASK_NAMES.includes('cipher'));
});
