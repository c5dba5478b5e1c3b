// The live bench most engine specs share: two ports, wan and lan, made once for the describe,
// and the objects its cases load (`load(path, globals)`), closed when the describe ends.
import { bpfObjects, fixtures, liveBench } from '../../src/index.js';

export const twoPortBench = () =>
  fixtures()
    .suite('bench', liveBench({ ports: [{ name: 'wan' }, { name: 'lan' }] }))
    .suite('load', bpfObjects());
