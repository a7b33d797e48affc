package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("30s",
// "1m30s") or a whole number of days ("180d").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	// "5m0s" reads better as "5m", "1h0m0s" as "1h".
	str := td.String()
	if strings.HasSuffix(str, "m0s") {
		str = strings.TrimSuffix(str, "0s")
	}
	if strings.HasSuffix(str, "h0m") {
		str = strings.TrimSuffix(str, "0m")
	}
	return str
}

func (d *Duration) decodeScalar(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil {
			return errExpected
		}
		if n > maxDays {
			return fmt.Errorf("%s is too long; the most is %dd", s, maxDays)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errExpected
	}
	if v < 0 {
		return fmt.Errorf("must not be negative, got %s", s)
	}
	*d = Duration(v)
	return nil
}

// maxDays is the largest whole number of days a time.Duration holds.
const maxDays = uint64(math.MaxInt64 / int64(24*time.Hour))

func (Duration) expected() string { return "a duration such as 500ms, 30s, 5m or 180d" }

// ByteSize is a number of bytes, written as an integer or with a unit:
// KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

func (b *ByteSize) decodeScalar(s string) error {
	mult := int64(1)
	num := s
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return errExpected
	}
	if n < 0 {
		return fmt.Errorf("must not be negative, got %s", s)
	}
	if n > (1<<62)/mult {
		return fmt.Errorf("%s is too large", s)
	}
	*b = ByteSize(n * mult)
	return nil
}

func (ByteSize) expected() string { return "a size such as 65536, 64KiB or 10MiB" }

func (b ByteSize) String() string {
	// The largest unit that divides exactly, binary units first.
	for _, i := range []int{2, 1, 0, 5, 4, 3} {
		if u := sizeUnits[i]; b != 0 && int64(b)%u.mult == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}
