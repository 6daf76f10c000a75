package stack

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Helpers that walk every field of a resource by reflection, so that the
// tests below cover a field the day it is added, without a list to edit.

// fill sets every leaf field of the struct v points to a value that is
// not the zero value, recursing into structs, pointers and slices of
// structs.
func fill(v reflect.Value) {
	for i := range v.NumField() {
		fillValue(v.Field(i), v.Type().Field(i).Name)
	}
}

func fillValue(f reflect.Value, name string) {
	switch {
	case f.Type() == reflect.TypeFor[time.Time]():
		f.Set(reflect.ValueOf(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)))
	case f.Type() == reflect.TypeFor[time.Duration]():
		f.SetInt(int64(7 * time.Second))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString("v-" + strings.ToLower(name))
	case reflect.Int, reflect.Int64:
		if f.Int() == 0 {
			f.SetInt(3)
		}
	case reflect.Float64:
		f.SetFloat(0.5)
	case reflect.Bool:
		f.SetBool(true)
	case reflect.Struct:
		if f.Type() != reflect.TypeFor[time.Time]() {
			fill(f)
		}
	case reflect.Pointer:
		f.Set(reflect.New(f.Type().Elem()))
		fill(f.Elem())
	case reflect.Slice:
		s := reflect.MakeSlice(f.Type(), 1, 1)
		fillValue(s.Index(0), name)
		f.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(f.Type())
		k, e := reflect.New(f.Type().Key()).Elem(), reflect.New(f.Type().Elem()).Elem()
		fillValue(k, name+"key")
		fillValue(e, name)
		m.SetMapIndex(k, e)
		f.Set(m)
	}
}

// leaf is one leaf field of a struct type: its JSON path and how to
// change its value in place.
type leaf struct {
	path   string
	change func(root reflect.Value)
}

// leaves lists the leaf fields of struct type t, by JSON name. A pointer
// to a struct is a leaf of its own (set to nil) as well as its fields.
func leaves(t reflect.Type) []leaf {
	return leavesNamed(t, func(f reflect.StructField) string {
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			panic(fmt.Sprintf("%s.%s has no JSON name: the store would not keep it", t, f.Name))
		}
		return name
	})
}

// fieldsOf lists them by Go name, for types the store does not keep.
func fieldsOf(t reflect.Type) []leaf {
	return leavesNamed(t, func(f reflect.StructField) string { return f.Name })
}

func leavesNamed(t reflect.Type, nameOf func(reflect.StructField) string) []leaf {
	var out []leaf
	var visit func(t reflect.Type, prefix string, index []int)
	visit = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int{}, index...), i)
			path := prefix + nameOf(f)
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
				visit(f.Type, path+".", idx)
				continue
			case f.Type.Kind() == reflect.Pointer:
				out = append(out, leaf{path, func(root reflect.Value) { fieldAt(root, idx).SetZero() }})
				visit(f.Type.Elem(), path+".", idx)
				continue
			}
			out = append(out, leaf{path, func(root reflect.Value) { change(fieldAt(root, idx)) }})
		}
	}
	visit(t, "", nil)
	return out
}

// fieldAt follows index from root, through pointers.
func fieldAt(root reflect.Value, index []int) reflect.Value {
	v := root
	for _, i := range index {
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v
}

// change gives a filled leaf another value, in new memory for slices and
// maps so that a copy sharing the old one is not changed with it.
func change(f reflect.Value) {
	switch {
	case f.Type() == reflect.TypeFor[time.Time]():
		f.Set(reflect.ValueOf(f.Interface().(time.Time).Add(time.Hour)))
		return
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(f.String() + "2")
	case reflect.Int, reflect.Int64:
		f.SetInt(f.Int() + 1)
	case reflect.Float64:
		f.SetFloat(f.Float() + 0.25)
	case reflect.Bool:
		f.SetBool(!f.Bool())
	case reflect.Slice:
		s := reflect.MakeSlice(f.Type(), f.Len()+1, f.Len()+1)
		reflect.Copy(s, f)
		fillValue(s.Index(f.Len()), "more")
		change(s.Index(f.Len()))
		f.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(f.Type())
		for _, k := range f.MapKeys() {
			m.SetMapIndex(k, f.MapIndex(k))
		}
		k, e := reflect.New(f.Type().Key()).Elem(), reflect.New(f.Type().Elem()).Elem()
		fillValue(k, "morekey")
		fillValue(e, "more")
		m.SetMapIndex(k, e)
		f.Set(m)
	case reflect.Struct:
		fillValue(f, "more")
		for i := range f.NumField() {
			change(f.Field(i))
		}
	default:
		panic("no way to change a " + f.Type().String())
	}
}
