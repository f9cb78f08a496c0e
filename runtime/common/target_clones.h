// BNFOLD_TARGET_CLONES(...): GCC's target_clones (one function built for
// several instruction sets, chosen at load time by an ifunc resolver),
// except under ThreadSanitizer: TSan instruments the resolver, which the
// dynamic loader runs before TSan's runtime is up, so every TSan binary
// crashed at start. TSan builds (scripts/sanitize.sh thread) take the
// default version only.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define BNFOLD_TARGET_CLONES(...)
#else
#define BNFOLD_TARGET_CLONES(...) __attribute__((target_clones(__VA_ARGS__)))
#endif
