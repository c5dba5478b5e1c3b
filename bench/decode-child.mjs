// Child process of the decode benchmark: streams FILE and fully decodes every frame
// (mode `parse`), or also formats the one-line summary tcpdump -n would print (`summary`).
// Imports the built package, as a user would, so start-up is not tsx's.
const [, , file, mode] = process.argv;
const x = await import(new URL('../dist/index.js', import.meta.url).href);
const reader = await x.CaptureReader.open(file);
let frames = 0;
let chars = 0;
for await (const batch of reader.batches()) {
  for (const r of batch) {
    const f = x.parseFrame(r.data);
    if (mode === 'summary') chars += x.summarize(f).length;
    else chars += f.layers.length;
    frames++;
  }
}
process.stderr.write(`${frames} ${chars}\n`);
