// x07_faucet_chrome_grey: chrome gooseneck tap on a light grey sweep
#include "common.inc"
#include "products.inc"
#include "hard-products.inc"

FrameAt(<0.2, 0.95, 0>, 2.15, 30, -10, 10)
KeyLight(<-4, 7, -5>, 1.0, 3, 4)
FillLight(<5, 3, -6>, 0.35)
#if (!MASK) Sweep(Paper(rgb 0.75, 0.3), 3, 2) #end
object { Faucet(texture { T_Chrome_3C }) }
