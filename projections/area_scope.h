// The part of the programme a reader may see: everything, one neighbourhood, or one county (a
// council's area, docs/PROTOCOL.md "Councils"). The projections filter their answers by it.
#pragma once

#include "ledger/types.h"

namespace refah::proj {

struct AreaScope {
  NeighbourhoodId neighbourhood = 0;  // non-zero: this neighbourhood only
  CountyCode county = 0;              // non-zero (and neighbourhood 0): this county only
  bool whole() const { return neighbourhood == 0 && county == 0; }
  // Whether a neighbourhood (in county `c`) lies in the area.
  bool contains(NeighbourhoodId n, CountyCode c) const {
    if (neighbourhood != 0) return n == neighbourhood;
    return county == 0 || c == county;
  }
};

}  // namespace refah::proj
