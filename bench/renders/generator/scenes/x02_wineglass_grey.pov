// x02_wineglass_grey: clear wine glass (thin stem) on mid-grey paper
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0, 1.4, 0>, 2.8, 30, -8, 12)
HardLight(<-4, 7, -5>, 1.0)
FillLight(<5, 3, -6>, 0.35)
FillLight(<0, 5, 5>, 0.4)
#if (!MASK) Sweep(Paper(rgb 0.5, 0.25), 3, 2) #end
object { WineGlass(<0.95, 0.97, 1.0>) }
