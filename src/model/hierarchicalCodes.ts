/**
 * The code files of a two-level model (model/hierarchical.ts): `vqvae encode
 * --out codes.npy` writes `codes.top.npy` (int32 [N, ht, wt]) and
 * `codes.bottom.npy` (int32 [N, hb, wb]), the name with its trailing `.npy`
 * replaced (a name without `.npy` gets the suffix added); `vqvae decode`
 * takes them back as `--codes codes.bottom.npy --top-codes codes.top.npy`.
 * No file system here: the names only.
 */

/** The two levels, top first (the order they are encoded and sampled in). */
export const CODE_LEVELS = ['top', 'bottom'] as const;
export type CodeLevel = (typeof CODE_LEVELS)[number];

/** `codes.npy` → { top: 'codes.top.npy', bottom: 'codes.bottom.npy' }. */
export function levelCodePaths(out: string): Record<CodeLevel, string> {
  const stem = out.endsWith('.npy') ? out.slice(0, -'.npy'.length) : out;
  return { top: `${stem}.top.npy`, bottom: `${stem}.bottom.npy` };
}
