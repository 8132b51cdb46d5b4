// Umbrella header: the whole public API of libzo.
#pragma once

#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/direction.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/objective.hpp"
#include "zo/philox.hpp"
#include "zo/run_batch.hpp"
#include "zo/stepper.hpp"
#include "zo/version.hpp"
