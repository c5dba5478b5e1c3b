// The BPF objects a describe block loads, closed together in its `after` hook.
import { loadObject, type LoadedObject } from '../../src/index.js';

export function objects(): {
  load: (path: string, globals?: Record<string, unknown>) => LoadedObject;
  closeAll: () => void;
} {
  const open: LoadedObject[] = [];
  return {
    load: (path, globals) => {
      const o = loadObject(path, globals);
      open.push(o);
      return o;
    },
    closeAll: () => {
      for (const o of open.splice(0)) o.close();
    },
  };
}
