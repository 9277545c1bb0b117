DROP TABLE category_mappings;
