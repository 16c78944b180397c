// goref: the Lucidworks click endpoint built from the libraries the real service is believed
// to run (oapi-codegen types with the spec's validator tags, kin-openapi request validation,
// encoding/json, go-playground/validator v10), as a reference for mockserver's profiles.
//
// Built from Debian's packages in GOPATH mode (the Go module proxy is not reachable here):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o goref .
//
// Layer switches let it stand for each reading of the service (see docs/validation.md):
//
//	-openapi    run kin-openapi's request validation first (the generated server's middleware)
//	-defaults   let kin-openapi write schema defaults into the body before the decoder reads it
//	-dive       validate the tags inside productDetails (the generated field has no "dive")
//	-trailing   accept data after the JSON value (Decoder.Decode) instead of refusing it
//	-ip-optional  read ipAddress as the docs do (on by default): absent is "extracted from the
//	              request"; -ip-optional=false is the bare generated "ip" tag, which fails a nil
//	              pointer (a documented variant no mockserver profile follows)
//
// Two ways to ask it: "-listen 127.0.0.1:8099" serves POST /retail/signals/click over HTTP;
// "-batch" reads one base64 body a line on stdin and writes one verdict a line on stdout
// ("202" or "400 <reason>"), through the same handler, for the differential test's thousands.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-playground/validator/v10"
)

// The types oapi-codegen generates for the spec's RetailClick, ProductDetail and Product:
// required properties as values, optional ones as pointers with omitempty, and each
// property's x-oapi-codegen-extra-tags as struct tags (a $ref property takes the referenced
// schema's: Product's "validate: required").
type Product struct {
	CurrencyCode string  `json:"currencyCode" validate:"required,iso4217"`
	Imageuri     string  `json:"imageuri" validate:"max=5000"`
	Price        float64 `json:"price"`
	ProductId    string  `json:"productId" validate:"required,max=128"`
	Title        string  `json:"title" validate:"required,max=1000"`
}

type ProductDetail struct {
	Product  Product `json:"product" validate:"required"`
	Quantity *int    `json:"quantity,omitempty"`
}

type RetailClick struct {
	IpAddress        *string         `json:"ipAddress,omitempty" validate:"ip"`
	ProductDetails   []ProductDetail `json:"productDetails"`
	QueryId          string          `json:"queryId" validate:"required"`
	SelectedPosition *int64          `json:"selectedPosition,omitempty"`
	SessionId        string          `json:"sessionId" validate:"required,max=128"`
	SourceId         string          `json:"sourceId"`
	Timestamp        int64           `json:"timestamp" validate:"required"`
	Uri              string          `json:"uri"`
	VisitorId        string          `json:"visitorId" validate:"max=128"`
}

// The documentation's reading of ipAddress: optional. Same fields, so a RetailClick converts.
type RetailClickIPOptional struct {
	IpAddress        *string         `json:"ipAddress,omitempty" validate:"omitempty,ip"`
	ProductDetails   []ProductDetail `json:"productDetails"`
	QueryId          string          `json:"queryId" validate:"required"`
	SelectedPosition *int64          `json:"selectedPosition,omitempty"`
	SessionId        string          `json:"sessionId" validate:"required,max=128"`
	SourceId         string          `json:"sourceId"`
	Timestamp        int64           `json:"timestamp" validate:"required"`
	Uri              string          `json:"uri"`
	VisitorId        string          `json:"visitorId" validate:"max=128"`
}

type config struct {
	openapi, defaults, dive, trailing, ipOptional bool
}

type reference struct {
	config
	route    *routers.Route
	validate *validator.Validate
}

func newReference(spec string, c config) (*reference, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(spec)
	if err != nil {
		return nil, err
	}
	const path = "/retail/signals/click"
	item := doc.Paths.Find(path)
	if item == nil || item.Post == nil {
		return nil, fmt.Errorf("%s has no POST %s", spec, path)
	}
	v := validator.New()
	// Debian's validator (10.4.1) predates the iso4217 tag: registered from upstream's table.
	if err := v.RegisterValidation("iso4217", func(fl validator.FieldLevel) bool {
		_, ok := iso4217[fl.Field().String()]
		return ok
	}); err != nil {
		return nil, err
	}
	route := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: http.MethodPost, Operation: item.Post}
	return &reference{config: c, route: route, validate: v}, nil
}

func (r *reference) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != r.route.Path {
		http.NotFound(w, req)
		return
	}
	if err := r.check(req); err != nil {
		http.Error(w, strings.ReplaceAll(err.Error(), "\n", " "), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (r *reference) check(req *http.Request) error {
	if r.openapi {
		input := &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   r.route,
			Options: &openapi3filter.Options{SkipSettingDefaults: !r.defaults},
		}
		if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
			return fmt.Errorf("openapi: %w", err)
		}
	}
	body, err := ioutil.ReadAll(req.Body) // after kin-openapi: with its defaults, if set
	if err != nil {
		return err
	}
	var clicks []RetailClick
	if r.trailing {
		err = json.NewDecoder(bytes.NewReader(body)).Decode(&clicks)
	} else {
		err = json.Unmarshal(body, &clicks)
	}
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	for i, click := range clicks {
		if r.ipOptional {
			err = r.validate.Struct(RetailClickIPOptional(click))
		} else {
			err = r.validate.Struct(click)
		}
		if err == nil && r.dive {
			err = r.validate.Var(click.ProductDetails, "dive")
		}
		if err != nil {
			return fmt.Errorf("validator: [%d] %w", i, err)
		}
	}
	return nil
}

// A request as a client following the spec sends it.
func request(body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/retail/signals/click", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "token")
	return req
}

func batch(handler http.Handler, in io.Reader, out io.Writer) error {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	writer := bufio.NewWriter(out)
	defer writer.Flush()
	for scanner.Scan() {
		body, err := base64.StdEncoding.DecodeString(scanner.Text())
		if err != nil {
			return err
		}
		recorder := httptest.NewRecorder()
		handler.ServeHTTP(recorder, request(body))
		reason := strings.TrimSpace(recorder.Body.String())
		fmt.Fprintf(writer, "%d %s\n", recorder.Code, strings.ReplaceAll(reason, "\n", " "))
	}
	return scanner.Err()
}

func main() {
	var c config
	spec := flag.String("spec", "", "the vendor's OpenAPI YAML (required)")
	listen := flag.String("listen", "", "serve HTTP on this address")
	batchMode := flag.Bool("batch", false, "judge base64 bodies from stdin, one a line")
	flag.BoolVar(&c.openapi, "openapi", true, "run kin-openapi request validation")
	flag.BoolVar(&c.defaults, "defaults", false, "let kin-openapi set schema defaults")
	flag.BoolVar(&c.dive, "dive", true, "validate the tags inside productDetails")
	flag.BoolVar(&c.trailing, "trailing", false, "accept data after the JSON value")
	flag.BoolVar(&c.ipOptional, "ip-optional", true, "ipAddress optional, as documented")
	flag.Parse()
	if *spec == "" || (*listen == "") == !*batchMode {
		flag.Usage()
		os.Exit(2)
	}
	ref, err := newReference(*spec, c)
	if err != nil {
		log.Fatal(err)
	}
	if *batchMode {
		if err := batch(ref, os.Stdin, os.Stdout); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := http.ListenAndServe(*listen, ref); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
