// Private to api/: plots of replay results as one self-contained SVG, panels side by side, one
// colour per policy, so a person can see which policy wins and when.
//
// Panels: GPU allocation ratio over time, fragmentation over time, requests accepted over time
// (cumulative), and bars of the mean leaf and rack span per accepted request. Axes carry ticks and
// labels; every series has a legend entry. No external fonts, scripts or images.
#pragma once

#include <string>
#include <vector>

#include "solver/replay.h"

namespace topoplace {

std::string ReplayPlotSvg(const std::vector<PolicyReport>& reports, const std::string& title);

}  // namespace topoplace
