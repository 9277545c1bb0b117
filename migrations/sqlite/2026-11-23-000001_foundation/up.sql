CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('municipality', 'hospital', 'other')),
    org_number TEXT NOT NULL UNIQUE,
    mailbox TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE units (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    mailbox TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (organisation_id, name)
);
CREATE INDEX units_organisation ON units (organisation_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    unit_id TEXT REFERENCES units (id),
    role TEXT NOT NULL CHECK (role IN ('reporter', 'handler', 'quality_advisor', 'analyst', 'admin')),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX users_organisation ON users (organisation_id);

CREATE TABLE categories (
    code TEXT PRIMARY KEY NOT NULL,
    parent_code TEXT REFERENCES categories (code),
    label TEXT NOT NULL,
    description TEXT NOT NULL,
    sort_order INTEGER NOT NULL,
    active BOOLEAN NOT NULL DEFAULT 1
);

INSERT INTO categories (code, parent_code, label, description, sort_order, active) VALUES
('admission_referral', NULL, 'Innleggelse og henvisning', 'Mangelfull eller manglende henvisning, innleggelsesrapport eller informasjon ved innleggelse.', 10, 1),
('notification_during_stay', NULL, 'Varsling under opphold', 'Kommunen ble ikke varslet eller varslet for sent om innlagt pasient, forventet utskrivningsdato eller endret behov.', 20, 1),
('discharge', NULL, 'Utskrivning / utskrivningsklar pasient', 'Utskrivning uten avtale, for tidlig eller på uegnet tidspunkt, eller uklar melding om utskrivningsklar pasient.', 30, 1),
('discharge_summary', NULL, 'Epikrise og dokumentasjon', 'Epikrise, sykepleiesammenfatning eller annen dokumentasjon manglet, kom for sent eller var mangelfull.', 40, 1),
('medication', NULL, 'Legemidler og legemiddelliste', 'Feil eller manglende legemiddelliste, resepter, legemidler eller informasjon om endret medisinering.', 50, 1),
('assistive_devices', NULL, 'Hjelpemidler, utstyr og forbruksmateriell', 'Nødvendige hjelpemidler, utstyr eller forbruksmateriell manglet ved overgangen.', 60, 1),
('electronic_messaging', NULL, 'Elektronisk meldingsutveksling (PLO-meldinger, e-meldinger)', 'PLO-meldinger eller andre e-meldinger manglet, ble ikke besvart eller hadde feil innhold.', 70, 1),
('coordination', NULL, 'Koordinering og ansvarsavklaring', 'Uklart hvem som hadde ansvaret, eller manglende samarbeid om pasientforløpet.', 80, 1),
('availability', NULL, 'Tilgjengelighet og kontakt', 'Vanskelig å nå riktig person eller tjeneste, for eksempel på telefon.', 90, 1),
('patient_information', NULL, 'Informasjon og medvirkning for pasient og pårørende', 'Pasient eller pårørende fikk ikke nødvendig informasjon eller mulighet til å medvirke.', 100, 1),
('other', NULL, 'Annet', 'Samhandlingsavvik som ikke passer i noen av de andre kategoriene.', 110, 1);
