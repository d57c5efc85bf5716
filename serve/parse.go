package serve

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/apierr"
)

// The JSON input formats of /invocations.
const (
	fmtSplit     = "dataframe_split"
	fmtRecords   = "dataframe_records"
	fmtInstances = "instances"
	fmtInputs    = "inputs"
)

// Messages MLflow's scoring server uses verbatim.
const (
	requiredInputFormat = "The input must be a JSON dictionary with exactly one of the input fields " +
		"{'dataframe_split', 'instances', 'inputs', 'dataframe_records'}"
	scoringProtocolChangeInfo = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are" +
		" seeing this error, you are likely using an outdated scoring request format. To resolve the" +
		" error, either update your request format or adjust your MLflow Model's requirements file to" +
		" specify an older version of MLflow (for example, change the 'mlflow' requirement specifier" +
		" to 'mlflow==1.30.0'). If you are making a request using the MLflow client" +
		" (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in" +
		" order to use the new request format. For more information about the updated MLflow" +
		" Model scoring protocol in MLflow 2.0, see" +
		" https://mlflow.org/docs/latest/models.html#deploy-mlflow-models."
	contentTypes = "['text/csv', 'application/json', 'application/vnd.apache.parquet']"
)

// rframe is a data frame as parsed, before typing: named columns of JSON
// scalars (column-major).
type rframe struct {
	names []string
	cols  [][]*value
	rows  int
}

// request is a parsed /invocations body.
type request struct {
	frame  *rframe // dataframe_split, dataframe_records, CSV
	data   *value  // instances or inputs
	format string
	params *value
	// llm is an unwrapped chat/completions/embeddings body (MLflow's
	// "unified LLM input"): data is the whole object.
	llm bool
	// hinted is an "inputs" payload for a model whose signature came from
	// type hints: passed through unparsed, answered wrapped.
	hinted bool
}

// invalidInput is MLflow's MlflowInvalidInputException (BAD_REQUEST).
func invalidInput(format string, args ...any) *apierr.Error {
	return apierr.New(apierr.BadRequest, "Invalid input. "+format, args...)
}

// checkContentType applies MLflow's content-type rules; it returns the
// mime type ("text/csv" or "application/json").
func checkContentType(ct string) (string, error) {
	parts := strings.Split(ct, ";")
	mt := strings.TrimSpace(parts[0])
	var unexpected []string
	charset := "utf-8"
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if k == "charset" {
			charset = strings.ToLower(v)
		} else {
			unexpected = append(unexpected, k)
		}
	}
	unsupported := func(msg string) error {
		return apierr.Plain(415, apierr.BadRequest, msg)
	}
	if charset != "utf-8" {
		return "", unsupported("The scoring server only supports UTF-8")
	}
	if len(unexpected) > 0 {
		return "", unsupported(fmt.Sprintf("Unrecognized content type parameters: %s. %s",
			strings.Join(unexpected, ", "), scoringProtocolChangeInfo))
	}
	switch mt {
	case "application/json", "text/csv":
		return mt, nil
	}
	_, _, _ = mime.ParseMediaType(ct)
	return "", unsupported(fmt.Sprintf("This predictor only supports the following content types: Types: %s. Got '%s'.",
		contentTypes, ct))
}

// parseJSONBody decodes an /invocations JSON body.
func parseJSONBody(body []byte) (*request, error) {
	root, err := parseJSONPacked(body)
	if errors.Is(err, errIntTooLarge) {
		return nil, invalidInput("%v", err)
	}
	if err != nil {
		return nil, invalidInput("Ensure that input is a valid JSON formatted string. Error: '%s'\nInput: \n%s\n",
			jsonDecodeRepr(err), truncate(string(body), 2048))
	}
	switch root.k {
	case kObject:
	case kArray:
		return nil, invalidInput("%s. Received a list.", requiredInputFormat)
	default:
		return nil, invalidInput("%s. Received unexpected input type '<class '%s'>.", requiredInputFormat, root.typeName())
	}
	for _, k := range root.keys {
		if k == "messages" || k == "prompt" || k == "input" {
			return &request{data: &root, llm: true}, nil
		}
	}
	req := &request{}
	var found []string
	seen := map[string]bool{}
	for i, k := range root.keys {
		switch k {
		case fmtSplit, fmtRecords, fmtInstances, fmtInputs:
			if !seen[k] {
				found = append(found, k)
				seen[k] = true
			}
			v, _ := root.get(k)
			req.format, req.data = k, v
			_ = i
		case "params":
			req.params, _ = root.get(k)
		}
	}
	if len(found) != 1 {
		quoted := make([]string, len(found))
		for i, k := range found {
			quoted[i] = "'" + k + "'"
		}
		return nil, apierr.New(apierr.BadRequest, "%s. Received dictionary with input fields: [%s]. %s",
			requiredInputFormat, strings.Join(quoted, ", "), scoringProtocolChangeInfo)
	}
	switch req.format {
	case fmtSplit:
		f, err := splitFrame(req.data)
		if err != nil {
			return nil, err
		}
		req.frame, req.data = f, nil
	case fmtRecords:
		f, err := recordsFrame(req.data)
		if err != nil {
			return nil, err
		}
		req.frame, req.data = f, nil
	}
	return req, nil
}

func jsonDecodeRepr(err error) string {
	var je *errJSON
	if errors.As(err, &je) {
		return fmt.Sprintf("JSONDecodeError('%s')", je.Error())
	}
	return fmt.Sprintf("UnicodeDecodeError('%s')", err.Error())
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// splitFrame builds a frame from pandas "split" orient.
func splitFrame(v *value) (*rframe, error) {
	if v.k != kObject {
		t := "list"
		if v.k != kArray {
			t = "type <class '" + v.typeName() + "'>"
		}
		return nil, invalidInput("Dataframe split format must be a dictionary. Got %s.", t)
	}
	data, hasData := v.get("data")
	extra := false
	for _, k := range v.keys {
		if k != "columns" && k != "data" && k != "index" {
			extra = true
		}
	}
	if !hasData || extra {
		q := make([]string, len(v.keys))
		for i, k := range v.keys {
			q[i] = "'" + k + "'"
		}
		return nil, invalidInput("Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {%s}.'",
			strings.Join(q, ", "))
	}
	bad := func(msg string) error {
		return invalidInput("Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '%s'", msg)
	}
	var names []string
	if cv, ok := v.get("columns"); ok && cv.k != kNull {
		if cv.k != kArray {
			return nil, bad("columns must be a list")
		}
		for i := range cv.items() {
			names = append(names, pyStr(&cv.items()[i]))
		}
	}
	if data.k != kArray {
		return nil, bad("DataFrame constructor not properly called!")
	}
	f := &rframe{rows: len(data.items())}
	width := 0
	rowsAreLists := len(data.items()) > 0 && data.items()[0].k == kArray
	for i := range data.items() {
		r := &data.items()[i]
		if (r.k == kArray) != rowsAreLists {
			return nil, bad("Mixing dicts with non-Series may lead to ambiguous ordering.")
		}
		if r.k == kObject {
			return nil, bad("dict rows are not supported in 'split' format")
		}
		if rowsAreLists && len(r.items()) > width {
			width = len(r.items())
		}
	}
	if !rowsAreLists && len(data.items()) > 0 {
		width = 1
	}
	if names == nil {
		for i := 0; i < width; i++ {
			names = append(names, strconv.Itoa(i))
		}
	} else if len(data.items()) > 0 && len(names) != width {
		return nil, bad(fmt.Sprintf("%d columns passed, passed data had %d columns", len(names), width))
	}
	if iv, ok := v.get("index"); ok && iv.k == kArray && len(data.items()) > 0 && len(iv.items()) != len(data.items()) {
		return nil, bad(fmt.Sprintf("Shape of passed values is (%d, %d), indices imply (%d, %d)",
			len(data.items()), width, len(iv.items()), width))
	}
	null := &value{k: kNull}
	f.names = names
	f.cols = make([][]*value, len(names))
	for c := range names {
		col := make([]*value, len(data.items()))
		for r := range data.items() {
			row := &data.items()[r]
			switch {
			case !rowsAreLists:
				col[r] = row
			case c < len(row.items()):
				col[r] = &row.items()[c]
			default:
				col[r] = null
			}
		}
		f.cols[c] = col
	}
	return f, nil
}

// recordsFrame builds a frame from pandas "records" orient.
func recordsFrame(v *value) (*rframe, error) {
	if v.k != kArray {
		t := "dictionary"
		if v.k != kObject {
			t = "type <class '" + v.typeName() + "'>"
		}
		return nil, invalidInput("Dataframe records format must be a list of records. Got %s.", t)
	}
	if len(v.items()) > 0 && v.items()[0].k != kObject {
		// pandas also takes a list of lists or scalars here.
		return splitFrame(&value{k: kObject, keys: []string{"data"}, vals: []value{*v}})
	}
	idx := map[string]int{}
	f := &rframe{rows: len(v.items())}
	null := &value{k: kNull}
	for r := range v.items() {
		rec := &v.items()[r]
		if rec.k != kObject {
			return nil, invalidInput("Provided dataframe_records field is not a valid dataframe representation in 'records' format. Error: '%s'",
				"Mixing dicts with non-Series may lead to ambiguous ordering.")
		}
		for i, k := range rec.keys {
			c, ok := idx[k]
			if !ok {
				c = len(f.names)
				idx[k] = c
				f.names = append(f.names, k)
				col := make([]*value, len(v.items()))
				for j := range col {
					col[j] = null
				}
				f.cols = append(f.cols, col)
			}
			f.cols[c][r] = &rec.vals[i]
		}
	}
	return f, nil
}

// parseCSV reads a CSV body with a header row, as pandas.read_csv does:
// empty fields are missing values, numbers are numbers.
func parseCSV(body []byte) (*rframe, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, csvError("No columns to parse from file")
		}
		return nil, csvError(err.Error())
	}
	f := &rframe{names: header, cols: make([][]*value, len(header))}
	line := 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err.Error())
		}
		line++
		if len(rec) > len(header) {
			return nil, csvError(fmt.Sprintf("Error tokenizing data. C error: Expected %d fields in line %d, saw %d\n",
				len(header), line, len(rec)))
		}
		for c := range header {
			v := &value{k: kNull}
			if c < len(rec) {
				v = csvValue(rec[c])
				if v.k != kNull {
					v.csv = rec[c]
				}
			}
			f.cols[c] = append(f.cols[c], v)
		}
		f.rows++
	}
	return f, nil
}

func csvError(msg string) error {
	return apierr.New(apierr.BadRequest, "Failed to parse input as a Pandas DataFrame. Ensure that the input is"+
		" a valid CSV-formatted Pandas DataFrame produced using the"+
		" `pandas.DataFrame.to_csv()` method. Error: '%s'", msg)
}

// csvValue types one CSV field as pandas' parser would.
func csvValue(s string) *value {
	t := strings.TrimSpace(s)
	switch t {
	case "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "n/a", "-NaN", "-nan", "<NA>":
		return &value{k: kNull}
	case "True", "TRUE", "true":
		return &value{k: kBool, b: true}
	case "False", "FALSE", "false":
		return &value{k: kBool}
	}
	if _, err := strconv.ParseInt(t, 10, 64); err == nil {
		return &value{k: kNumber, num: t}
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return &value{k: kNumber, num: strconv.FormatFloat(f, 'g', -1, 64) + dotIfInt(f)}
	}
	return &value{k: kString, s: s}
}

func dotIfInt(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if strings.ContainsAny(s, ".eEIN") {
		return ""
	}
	return ".0"
}
