// filled by the checkpoint work; see lib/index.ts
export {};
