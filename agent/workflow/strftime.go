package workflow

import (
	"strconv"
	"time"
)

// strftimeChars are the strftime conversions Argo offers as
// workflow.creationTimestamp.<char>.
var strftimeChars = []byte("aAbBcCdDeFgGhHIjklmMnprRsStTuUVwWxXyYzZ")

// strftime formats t for one strftime conversion character.
func strftime(t time.Time, c byte) string {
	switch c {
	case 'a':
		return t.Format("Mon")
	case 'A':
		return t.Format("Monday")
	case 'b', 'h':
		return t.Format("Jan")
	case 'B':
		return t.Format("January")
	case 'c':
		return t.Format("Mon Jan  2 15:04:05 2006")
	case 'C':
		return pad2(t.Year() / 100)
	case 'd':
		return t.Format("02")
	case 'D', 'x':
		return t.Format("01/02/06")
	case 'e':
		return t.Format("_2")
	case 'F':
		return t.Format("2006-01-02")
	case 'g':
		y, _ := t.ISOWeek()
		return pad2(y % 100)
	case 'G':
		y, _ := t.ISOWeek()
		return strconv.Itoa(y)
	case 'H':
		return t.Format("15")
	case 'I':
		return t.Format("03")
	case 'j':
		return leftPad(strconv.Itoa(t.YearDay()), 3)
	case 'k':
		return leftPadSpace(strconv.Itoa(t.Hour()), 2)
	case 'l':
		return leftPadSpace(t.Format("3"), 2)
	case 'm':
		return t.Format("01")
	case 'M':
		return t.Format("04")
	case 'n':
		return "\n"
	case 'p':
		return t.Format("PM")
	case 'r':
		return t.Format("03:04:05 PM")
	case 'R':
		return t.Format("15:04")
	case 's':
		return strconv.FormatInt(t.Unix(), 10)
	case 'S':
		return t.Format("05")
	case 't':
		return "\t"
	case 'T', 'X':
		return t.Format("15:04:05")
	case 'u':
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		return strconv.Itoa(wd)
	case 'U':
		return pad2((t.YearDay() + 6 - int(t.Weekday())) / 7)
	case 'V':
		_, w := t.ISOWeek()
		return pad2(w)
	case 'w':
		return strconv.Itoa(int(t.Weekday()))
	case 'W':
		wd := (int(t.Weekday()) + 6) % 7
		return pad2((t.YearDay() + 6 - wd) / 7)
	case 'y':
		return t.Format("06")
	case 'Y':
		return t.Format("2006")
	case 'z':
		return t.Format("-0700")
	case 'Z':
		return t.Format("MST")
	}
	return ""
}

func pad2(n int) string { return leftPad(strconv.Itoa(n), 2) }

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

func leftPadSpace(s string, n int) string {
	for len(s) < n {
		s = " " + s
	}
	return s
}
