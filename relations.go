package prefetch

import (
	"cmp"
	"slices"

	"gorm.io/gorm/schema"
)

// A link says that a column of one table holds primary keys of another. Links
// come from the models' relations (belongs-to, has-one, has-many, the two
// sides of a many2many join table) and, for models that declare none, from
// GORM's naming convention (orders.customer_id holds customers.id). Links
// only guide prefetching: a wrong one loads rows that were not needed, never
// a wrong row.
type link struct {
	child  string // table holding the foreign key
	col    string // foreign-key column
	parent string // table whose primary key it holds
	pcol   string // that primary key's column

	// A link from a constraint with ON DELETE or ON UPDATE actions tells
	// which writes to the parent the database carries over to the child.
	onDelete bool
	onUpdate bool
}

// linksOf returns the links that have table on either side.
func (st *state) linksOf(table string) []link {
	st.mu.RLock()
	links := st.links
	st.mu.RUnlock()
	if links == nil {
		links = st.buildLinks()
	}
	return links[table]
}

// buildLinks works the links out from every model seen and indexes them by
// both of their tables.
func (st *state) buildLinks() map[string][]link {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.links != nil {
		return st.links
	}
	seen := map[link]bool{}
	out := map[string][]link{}
	add := func(child, col string, parent *schema.Schema, pk *schema.Field) {
		if parent == nil || len(parent.PrimaryFields) != 1 || parent.PrimaryFields[0].DBName != pk.DBName {
			return
		}
		l := link{child: child, col: col, parent: parent.Table, pcol: pk.DBName}
		if seen[l] {
			return
		}
		seen[l] = true
		out[l.child] = append(out[l.child], l)
		if l.parent != l.child {
			out[l.parent] = append(out[l.parent], l)
		}
	}
	for table, sch := range st.schemas {
		for _, rel := range sch.Relationships.Relations {
			// GORM also files a has-one or has-many under the child's
			// schema ("_Customer_Orders" in Order): its owner is rel.Schema,
			// not sch, and the parent's own entry covers it.
			if rel.Polymorphic != nil || rel.FieldSchema == nil || rel.Schema != sch {
				continue
			}
			for _, ref := range rel.References {
				if ref.PrimaryKey == nil || ref.ForeignKey == nil {
					continue
				}
				switch {
				case rel.JoinTable != nil && ref.OwnPrimaryKey:
					add(rel.JoinTable.Table, ref.ForeignKey.DBName, sch, ref.PrimaryKey)
				case rel.JoinTable != nil:
					add(rel.JoinTable.Table, ref.ForeignKey.DBName, rel.FieldSchema, ref.PrimaryKey)
				case rel.Type == schema.BelongsTo && len(rel.References) == 1:
					add(table, ref.ForeignKey.DBName, rel.FieldSchema, ref.PrimaryKey)
				case (rel.Type == schema.HasOne || rel.Type == schema.HasMany) && len(rel.References) == 1:
					add(rel.FieldSchema.Table, ref.ForeignKey.DBName, sch, ref.PrimaryKey)
				}
			}
		}
	}
	// Constraints the database enforces with actions. Their columns may
	// reference any key, so they are links for cascades only.
	for _, sch := range st.schemas {
		for _, rel := range sch.Relationships.Relations {
			con := rel.ParseConstraint()
			if con == nil || con.Schema == nil || con.ReferenceSchema == nil || con.OnDelete == "" && con.OnUpdate == "" {
				continue
			}
			l := link{child: con.Schema.Table, parent: con.ReferenceSchema.Table, onDelete: con.OnDelete != "", onUpdate: con.OnUpdate != ""}
			if !seen[l] {
				seen[l] = true
				out[l.child] = append(out[l.child], l)
				out[l.parent] = append(out[l.parent], l)
			}
		}
	}
	// Naming convention, for models that declare no relation: a column
	// named after a model and its key (CustomerID -> customer_id).
	if st.naming != nil {
		for _, parent := range st.schemas {
			if len(parent.PrimaryFields) != 1 || parent.Name == "" {
				continue
			}
			pk := parent.PrimaryFields[0]
			col := st.naming.ColumnName("", parent.Name+pk.Name)
			for table, child := range st.schemas {
				if child != parent && child.FieldsByDBName[col] != nil {
					add(table, col, parent, pk)
				}
			}
		}
	}
	// In a fixed order: which link finds a missing key's scope first must
	// not depend on map iteration, so that a request's queries are the
	// same from run to run.
	for _, ls := range out {
		slices.SortFunc(ls, func(a, b link) int {
			return cmp.Or(cmp.Compare(a.child, b.child), cmp.Compare(a.col, b.col),
				cmp.Compare(a.parent, b.parent), cmp.Compare(a.pcol, b.pcol),
				cmp.Compare(btoi(a.onDelete), btoi(b.onDelete)), cmp.Compare(btoi(a.onUpdate), btoi(b.onUpdate)))
		})
	}
	st.links = out
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
