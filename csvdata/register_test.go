package csvdata_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
)

// TestRegister: a persons file's versions as a register to settle with: each person as
// they stand on the last day, and the histories of those whose attributes change or hold
// on some days only, the empty dates the beginning and no end; a file without dates has
// no histories.
func TestRegister(t *testing.T) {
	d := calc.NewDate
	tests := []struct {
		name, file string
		persons    []calc.Person
		histories  map[string]calc.History
	}{
		{"no dates", "person_id,household_id,registered_poor,aid_category\nP1,H1,true,dibao\nP2,H2,false,\n",
			[]calc.Person{{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao, Version: 1}, {ID: "P2", HouseholdID: "H2", Version: 1}}, nil},
		{"one person changes", "person_id,household_id,registered_poor,aid_category,valid_from,valid_to\nP1,H1,true,,2018-07-01,\nP2,H2,false,,,\nP1,H1,true,dibao,,2018-06-30\n",
			[]calc.Person{{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Version: 2}, {ID: "P2", HouseholdID: "H2", Version: 1}},
			map[string]calc.History{"P1": {
				{Person: calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao, Version: 1}, From: calc.Beginning, To: d(2018, 6, 30)},
				{Person: calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Version: 2}, From: d(2018, 7, 1), To: calc.End},
			}}},
		{"one person holds from a day on", "person_id,household_id,registered_poor,aid_category,valid_from,valid_to\nP1,H1,true,tekun,2018-03-01,\n",
			[]calc.Person{{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun, Version: 1}},
			map[string]calc.History{"P1": {{Person: calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun, Version: 1}, From: d(2018, 3, 1), To: calc.End}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := csvdata.ReadPersonVersions("persons.csv", strings.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			persons, histories := csvdata.Register(list)
			if !reflect.DeepEqual(persons, tt.persons) {
				t.Errorf("persons %+v, want %+v", persons, tt.persons)
			}
			if !reflect.DeepEqual(histories, tt.histories) {
				t.Errorf("histories %+v, want %+v", histories, tt.histories)
			}
		})
	}
}
