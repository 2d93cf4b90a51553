package prefetch_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gorm-prefetch/prefetch"
)

// A request made WithReport tells where its code loaded records one at a
// time, and how to write it without the N+1.
func ExampleReportOf() {
	db := exampleDB()
	ctx := prefetch.NewContext(context.Background(), prefetch.WithReport())
	tx := db.WithContext(ctx)

	var books []Book
	tx.Order("id").Find(&books)
	for _, b := range books {
		var a Author
		tx.First(&a, b.AuthorID) // one query for every author of the books
	}

	for _, s := range prefetch.ReportOf(ctx) {
		fmt.Printf("%s:%d loads %s.%s: %d statements, %d query\n",
			filepath.Base(s.File), s.Line, s.Model, s.Relation, s.Statements, s.Queries)
		fmt.Printf("scope from %s:%d\n", filepath.Base(s.OriginFile), s.OriginLine)
	}
	// Output:
	// report_example_test.go:23 loads Book.Author: 6 statements, 1 query
	// scope from report_example_test.go:20
}

// Under WithStrict, the first statement of an N+1 loop fails instead of
// being batched: tests that run with it fail when a new N+1 appears.
func ExampleWithStrict() {
	db := exampleDB()
	ctx := prefetch.NewContext(context.Background(), prefetch.WithStrict())
	tx := db.WithContext(ctx)

	var books []Book
	tx.Order("id").Find(&books)
	var a Author
	err := tx.First(&a, books[0].AuthorID).Error
	fmt.Println(errors.Is(err, prefetch.ErrLazyLoad))

	// Asked for explicitly, the same authors load without error.
	fmt.Println(prefetch.Load(tx, &books, "Author"), books[5].Author.Name)
	// Output:
	// true
	// <nil> author 3
}
