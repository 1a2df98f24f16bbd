// filled by the nn work; see lib/index.ts
export {};
