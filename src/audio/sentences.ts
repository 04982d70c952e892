/**
 * The text of the speech corpus: sentences made from a small grammar and
 * word lists, seeded, so any number of distinct sentences can be produced
 * offline and the same seed always gives the same ones. The words cover most
 * English phonemes (stops, fricatives, nasals, liquids, every vowel class),
 * which is what the phoneme-discovery evaluation needs.
 *
 * Example: `makeSentences(3, 1)` gives three sentences such as
 * "A quiet teacher found seven yellow boats near the bridge."
 */
import { mulberry32, type Rng } from '../random.js';

const W = {
  det: ['the', 'a', 'every', 'one', 'that', 'this', 'my', 'her', 'his', 'our'],
  adj: ['quiet', 'heavy', 'bright', 'small', 'young', 'old', 'yellow', 'green', 'cheap', 'thick', 'smooth', 'sharp',
    'rough', 'fresh', 'lazy', 'brave', 'gentle', 'proud', 'shiny', 'wooden', 'frozen', 'busy', 'huge', 'pale'],
  noun: ['teacher', 'dog', 'farmer', 'child', 'sailor', 'garden', 'window', 'kitchen', 'river', 'village', 'judge',
    'mother', 'thief', 'nurse', 'painter', 'horse', 'bird', 'engine', 'baker', 'shepherd', 'fisherman', 'queen',
    'soldier', 'student', 'monkey', 'driver', 'singer', 'doctor', 'cousin', 'neighbour'],
  thing: ['boat', 'letter', 'basket', 'coin', 'jacket', 'ladder', 'pencil', 'bottle', 'wheel', 'shovel', 'clock',
    'map', 'violin', 'lamp', 'kettle', 'rope', 'bucket', 'feather', 'ring', 'chair', 'book', 'cup', 'shoe', 'drum'],
  verb: ['found', 'carried', 'painted', 'dropped', 'watched', 'pushed', 'bought', 'sold', 'washed', 'broke', 'kept',
    'moved', 'fixed', 'threw', 'caught', 'hid', 'showed', 'brought', 'lifted', 'measured', 'polished', 'chose'],
  verbIntr: ['laughed', 'slept', 'waited', 'shouted', 'vanished', 'arrived', 'jumped', 'smiled', 'worked', 'whispered',
    'danced', 'listened', 'hurried', 'stumbled', 'wandered', 'sang'],
  verbBase: ['laugh', 'sleep', 'wait', 'shout', 'vanish', 'arrive', 'jump', 'smile', 'work', 'whisper', 'dance', 'listen',
    'hurry', 'stumble', 'wander', 'sing'],
  prep: ['near', 'under', 'behind', 'beside', 'across', 'inside', 'above', 'beyond', 'through', 'around', 'past'],
  place: ['the bridge', 'the hill', 'the market', 'the station', 'the old church', 'the harbour', 'the forest',
    'the factory', 'the castle', 'the school', 'the hotel', 'the shop', 'the valley', 'the beach', 'the tower'],
  number: ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'twelve', 'twenty', 'forty'],
  time: ['yesterday', 'this morning', 'on Thursday', 'last winter', 'at midnight', 'after lunch', 'every evening',
    'in the autumn', 'before dawn', 'on Sunday'],
  adverb: ['slowly', 'quickly', 'quietly', 'happily', 'carefully', 'suddenly', 'proudly', 'gently', 'loudly'],
  name: ['Peter', 'Joan', 'Harvey', 'Ruth', 'George', 'Martha', 'Vincent', 'Sheila', 'Thomas', 'Judith', 'Oliver',
    'Zoe', 'Charles', 'Yvonne', 'Frank', 'Agatha'],
};

type Pick = (list: readonly string[]) => string;

const TEMPLATES: Array<(p: Pick) => string> = [
  (p) => `${p(W.det)} ${p(W.adj)} ${p(W.noun)} ${p(W.verb)} ${p(W.number)} ${p(W.adj)} ${p(W.thing)}s ${p(W.prep)} ${p(W.place)}.`,
  (p) => `${p(W.name)} ${p(W.verb)} the ${p(W.thing)} ${p(W.time)}.`,
  (p) => `${p(W.det)} ${p(W.noun)} ${p(W.verbIntr)} ${p(W.adverb)} ${p(W.prep)} ${p(W.place)}.`,
  (p) => `${p(W.time)}, ${p(W.name)} and ${p(W.name)} ${p(W.verbIntr)} ${p(W.prep)} ${p(W.place)}.`,
  (p) => `${p(W.name)} ${p(W.adverb)} ${p(W.verb)} ${p(W.det)} ${p(W.adj)} ${p(W.thing)} for the ${p(W.noun)}.`,
  (p) => `Why did the ${p(W.adj)} ${p(W.noun)} ${p(W.verbBase)} ${p(W.time)}?`,
  (p) => `${p(W.number)} ${p(W.adj)} ${p(W.noun)}s ${p(W.verbIntr)} while ${p(W.name)} ${p(W.verb)} a ${p(W.thing)}.`,
];

/** `count` distinct sentences from generator `seed`, first letter upper case. */
export function makeSentences(count: number, seed: number): string[] {
  const rng: Rng = mulberry32(seed);
  const pick: Pick = (list) => list[Math.floor(rng() * list.length)]!;
  const seen = new Set<string>();
  const out: string[] = [];
  for (let tries = 0; out.length < count; tries++) {
    if (tries > count * 100) throw new Error(`cannot make ${count} distinct sentences`);
    const template = TEMPLATES[Math.floor(rng() * TEMPLATES.length)]!;
    const raw = template(pick).replace(/\ba ([aeiou])/g, 'an $1');
    const sentence = raw[0]!.toUpperCase() + raw.slice(1);
    if (seen.has(sentence)) continue;
    seen.add(sentence);
    out.push(sentence);
  }
  return out;
}
