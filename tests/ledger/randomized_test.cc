// placeholder, filled in below
#include <catch2/catch.hpp>
