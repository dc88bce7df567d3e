#pragma once

/// \file
/// Everything brine offers, in one include.

#include "brine/channel.hpp"
#include "brine/codec.hpp"
#include "brine/curve.hpp"
#include "brine/error.hpp"
#include "brine/frame.hpp"
#include "brine/limits.hpp"
#include "brine/pool.hpp"
#include "brine/reflect.hpp"
#include "brine/register.hpp"
#include "brine/rpc.hpp"
#include "brine/schema.hpp"
