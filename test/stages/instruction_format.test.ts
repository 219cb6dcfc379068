// The instruction prompt format and the end-of-response token.
import t from 'tap';
import { RESPONSE_END, renderPrompt, responseEndId } from '../../lib/stages/instruction_format.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';

t.test('renderPrompt: the documented sections; Input left out when empty', async (t) => {
  t.equal(renderPrompt({ instruction: 'Reverse the word.', input: 'abc' }), 'Instruction: Reverse the word.\nInput: abc\nResponse: ');
  t.equal(renderPrompt({ instruction: 'Say hello.', input: '' }), 'Instruction: Say hello.\nResponse: ');
});

t.test('RESPONSE_END is one token of a char tokenizer built with it as a special token', async (t) => {
  const tok = CharTokenizer.fromCorpus('abc <>|edn', { specialTokens: [RESPONSE_END] });
  const id = responseEndId(tok);
  t.equal(id, tok.vocabSize - 1, 'the added token follows the characters');
  t.same(tok.encode(`ab${RESPONSE_END}c`), [...tok.encode('ab'), id, ...tok.encode('c')], 'matched whole inside text');
  t.equal(tok.decode([id], { skipSpecial: true }), '', 'special: dropped from decoded text');
});

t.test('a tokenizer without the token is refused with the fix', async (t) => {
  // Its characters could spell "<|end|>" out, but not as one token.
  const tok = CharTokenizer.fromCorpus('abc<|end>');
  t.throws(() => responseEndId(tok), { name: 'ConfigError', message: /no "<\|end\|>" token.*specialTokens: \['<\|end\|>'\]/ });
});
