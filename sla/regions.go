package sla

import (
	"sort"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/au"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/ie"
	"github.com/rickar/cal/v2/nl"
	"github.com/rickar/cal/v2/nz"
	"github.com/rickar/cal/v2/us"
	"github.com/rickar/cal/v2/za"
)

// regions maps a holiday region name, as written in the configuration, to
// the public holidays rickar/cal knows for it.
var regions = map[string][]*cal.Holiday{
	// England & Wales bank holidays, with substitute days.
	"gb": gb.Holidays,
	// Australia's national public holidays: those every state keeps. The
	// library has per-state lists only; a desk in one state should name it.
	"au":     {au.NewYear, au.AustraliaDay, au.GoodFriday, au.EasterMonday, au.AnzacDay, au.ChristmasDay, au.BoxingDay},
	"au-act": au.HolidaysACT,
	"au-nsw": au.HolidaysNSW,
	"au-nt":  au.HolidaysNT,
	"au-qld": au.HolidaysQLD,
	"au-sa":  au.HolidaysSA,
	"au-tas": au.HolidaysTAS,
	"au-vic": au.HolidaysVIC,
	"au-wa":  au.HolidaysWA,
	"ca":     ca.Holidays,
	"de":     de.Holidays,
	"fr":     fr.Holidays,
	"ie":     ie.Holidays,
	"nl":     nl.Holidays,
	"nz":     nz.Holidays,
	"us":     us.Holidays,
	"za":     za.Holidays,
}

// KnownRegion reports whether name is a holiday region NewCalendar accepts.
func KnownRegion(name string) bool {
	_, ok := regions[name]
	return ok
}

// Regions lists the holiday region names NewCalendar accepts, sorted.
func Regions() []string {
	names := make([]string, 0, len(regions))
	for n := range regions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
