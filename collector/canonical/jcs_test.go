package canonical

import "testing"

// TestJCSPublishedExamples checks the JCS form against the outputs printed in
// RFC 8785 itself (sections 3.2.2 and 3.2.3), independently of the Node
// generator's own RFC 8785 implementation.
func TestJCSPublishedExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{
			in: `{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			in: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\"," +
				"\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
	}
	for _, tt := range tests {
		var d Doc
		if err := d.Parse([]byte(`{"data":` + tt.in + `}`)); err != nil {
			t.Fatal(err)
		}
		data, _ := d.Get("data")
		got, err := JCS.Append(nil, data)
		if err != nil || string(got) != tt.want {
			t.Errorf("JCS.Append = %s, %v\nwant %s", got, err, tt.want)
		}
	}
	// Larger objects (beyond the pairwise duplicate check) sort and detect
	// duplicates too.
	big := `{"k9":9,"k8":8,"k7":7,"k6":6,"k5":5,"k4":4,"k3":3,"k2":2,"k1":1,"k0":0,"j9":9,"j8":8,"j7":7,"j6":6,"j5":5,"j4":4,"j3":3,"j2":2}`
	got, err := JCS.Append(nil, []byte(big))
	want := `{"j2":2,"j3":3,"j4":4,"j5":5,"j6":6,"j7":7,"j8":8,"j9":9,"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}`
	if err != nil || string(got) != want {
		t.Errorf("JCS.Append(18 keys) = %s, %v", got, err)
	}
	if _, err := JCS.Append(nil, []byte(big[:len(big)-1]+`,"k5":0}`)); err == nil {
		t.Errorf("JCS.Append accepted a duplicate key among 19")
	}
}
