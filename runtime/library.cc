// libbnfold.so is assembled from the layer libraries (whole-archive for the
// public API's own objects); this file only gives the target a source.
#include "bnfold/version.h"
