package prefetch

import (
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

type linkCustomer struct {
	ID     uint
	Orders []linkOrder
}

type linkOrder struct {
	ID             uint
	LinkCustomerID uint
	LinkCustomer   linkCustomer
}

// GORM files a has-many under the child's schema too ("_linkCustomer_Orders"
// in linkOrder); read as the child's own relation it would link
// link_orders.link_customer_id to link_orders.id, and widen a customer's
// orders over a scope of order ids.
func TestLinksIgnoreGORMsBackReferences(t *testing.T) {
	db, err := gorm.Open(gorm.Dialector(nil), &gorm.Config{}) // schemas only: no connection
	require.NoError(t, err)
	st := &state{naming: db.NamingStrategy, schemas: map[string]*schema.Schema{}}
	for _, m := range []any{&linkOrder{}, &linkCustomer{}} {
		stmt := &gorm.Statement{DB: db}
		require.NoError(t, stmt.Parse(m))
		st.noteSchema(stmt.Schema.Table, stmt.Schema)
	}
	require.Equal(t, []link{{child: "link_orders", col: "link_customer_id", parent: "link_customers", pcol: "id"}}, st.linksOf("link_orders"))
}
