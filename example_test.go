package prefetch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gorm-prefetch/prefetch"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type Author struct {
	ID   uint
	Name string
}

type Book struct {
	ID       uint
	Title    string
	AuthorID uint
	Author   Author
}

// exampleDB opens an in-memory SQLite database with the plugin and a few
// rows.
func exampleDB() *gorm.DB {
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		panic(err)
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1) // one in-memory database
	if err := db.Use(prefetch.Plugin{}); err != nil {
		panic(err)
	}
	if err := db.AutoMigrate(&Author{}, &Book{}); err != nil {
		panic(err)
	}
	for i := 1; i <= 3; i++ {
		a := Author{Name: fmt.Sprintf("author %d", i)}
		db.Create(&a)
		db.Create(&Book{Title: fmt.Sprintf("book %d", i), AuthorID: a.ID})
		db.Create(&Book{Title: fmt.Sprintf("book %d bis", i), AuthorID: a.ID})
	}
	return db
}

// An N+1 loop, unchanged, costs one query per table.
func Example() {
	db := exampleDB()
	ctx := prefetch.NewContext(context.Background())
	tx := db.WithContext(ctx)

	var books []Book
	tx.Order("id").Find(&books)
	for _, b := range books {
		var a Author
		tx.First(&a, b.AuthorID)
		fmt.Println(b.Title, "by", a.Name)
	}
	s := prefetch.StatsOf(ctx)
	fmt.Println("batch loads:", s.BatchLoads, "served:", s.Hits)
	// Output:
	// book 1 by author 1
	// book 1 bis by author 1
	// book 2 by author 2
	// book 2 bis by author 2
	// book 3 by author 3
	// book 3 bis by author 3
	// batch loads: 1 served: 6
}

// Load fills an association of records already loaded, for the whole
// result they came from.
func ExampleLoad() {
	db := exampleDB()
	tx := db.WithContext(prefetch.NewContext(context.Background()))
	var books []Book
	tx.Order("id").Find(&books)
	for i := range books {
		if err := prefetch.Load(tx, &books[i], "Author"); err != nil {
			panic(err)
		}
	}
	fmt.Println(books[0].Author.Name, books[5].Author.Name)
	// Output: author 1 author 3
}

// Middleware gives every request its own cache.
func ExampleMiddleware() {
	db := exampleDB()
	handler := prefetch.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Author
		db.WithContext(r.Context()).First(&a, 1)
		db.WithContext(r.Context()).First(&a, 1) // served from the request cache
		fmt.Fprintln(w, a.Name, prefetch.StatsOf(r.Context()).Hits)
	}))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Print(rec.Body.String())
	// Output: author 1 1
}

// Disable sends a statement to the database and keeps its rows out of the
// cache.
func ExampleDisable() {
	db := exampleDB()
	ctx := prefetch.NewContext(context.Background())
	var a Author
	db.WithContext(prefetch.Disable(ctx)).First(&a, 2)
	fmt.Println(a.Name, prefetch.StatsOf(ctx).Rows)
	// Output: author 2 0
}
