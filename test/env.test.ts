/** `detectron env`: the report names what this build and libtorch actually have. */
import { native } from '../lib/nn/native';
import { envReport } from '../lib/nn/runtime';
import { formatEnv } from '../tools/env';

describe('detectron env', () => {
  test('reports the libtorch version, threads and the distributed backends built in', () => {
    const report = envReport();
    const info = native.info();
    const dist = native.distInfo();
    expect(report.torchVersion).toBe(info.torchVersion);
    expect(report.distributed).toEqual({ backends: dist.backends, reducer: dist.reducer });
    const text = formatEnv(report);
    expect(text).toMatch(new RegExp(`^libtorch\\s+${info.torchVersion.replace(/\./g, '\\.')} \\(`, 'm'));
    expect(text).toMatch(new RegExp(`^threads\\s+${report.threads}$`, 'm'));
    const expected = dist.backends.length === 0 ? 'not built'
      : `${dist.backends.join(', ')}; gradients reduced ${dist.reducer ? 'during backward (DDP reducer)' : 'after backward'}`;
    expect(text.split('\n')).toContain(`distributed (c10d)  ${expected}`);
  });
});
