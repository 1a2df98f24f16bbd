// filled by the data work; see lib/index.ts
export {};
