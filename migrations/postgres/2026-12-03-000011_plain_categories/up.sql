-- Category names a municipal nurse reads at a glance, with the overlapping ones pointing to each
-- other (#16). The codes stay; a label or description an administrator has already changed is left
-- alone.
UPDATE categories SET label = 'Innleggelse og henvisning', description = 'Henvisning, innleggelsesrapport eller annen informasjon manglet eller var mangelfull da pasienten ble lagt inn.' WHERE code = 'admission_referral' AND label = 'Innleggelse og henvisning' AND description = 'Mangelfull eller manglende henvisning, innleggelsesrapport eller informasjon ved innleggelse.';
UPDATE categories SET label = 'Beskjed til kommunen mens pasienten er innlagt', description = 'Kommunen fikk ikke beskjed, eller fikk den for sent, om innleggelsen, ventet utskrivningsdato eller endrede behov.' WHERE code = 'notification_during_stay' AND label = 'Varsling under opphold' AND description = 'Kommunen ble ikke varslet eller varslet for sent om innlagt pasient, forventet utskrivningsdato eller endret behov.';
UPDATE categories SET label = 'Utskrivning og hjemreise', description = 'Pasienten ble skrevet ut uten avtale, for tidlig eller på et dårlig tidspunkt, eller det var uklart om pasienten var utskrivningsklar.' WHERE code = 'discharge' AND label = 'Utskrivning / utskrivningsklar pasient' AND description = 'Utskrivning uten avtale, for tidlig eller på uegnet tidspunkt, eller uklar melding om utskrivningsklar pasient.';
UPDATE categories SET label = 'Epikrise og sykepleiesammenfatning', description = 'Epikrisen, sykepleiesammenfatningen eller annen dokumentasjon manglet, kom for sent eller var mangelfull. Gjelder det bare legemiddellisten, velg legemidler.' WHERE code = 'discharge_summary' AND label = 'Epikrise og dokumentasjon' AND description = 'Epikrise, sykepleiesammenfatning eller annen dokumentasjon manglet, kom for sent eller var mangelfull.';
UPDATE categories SET label = 'Legemidler og legemiddelliste', description = 'Legemiddellisten manglet eller var feil, resepter eller legemidler manglet, eller endret medisinering ble ikke forklart.' WHERE code = 'medication' AND label = 'Legemidler og legemiddelliste' AND description = 'Feil eller manglende legemiddelliste, resepter, legemidler eller informasjon om endret medisinering.';
UPDATE categories SET label = 'Hjelpemidler og utstyr', description = 'Hjelpemidler, utstyr eller forbruksmateriell som pasienten trengte, manglet.' WHERE code = 'assistive_devices' AND label = 'Hjelpemidler, utstyr og forbruksmateriell' AND description = 'Nødvendige hjelpemidler, utstyr eller forbruksmateriell manglet ved overgangen.';
UPDATE categories SET label = 'E-meldinger (PLO-meldinger)', description = 'En elektronisk melding manglet, kom ikke fram, ble ikke besvart eller hadde feil innhold. Gjelder det epikrisen, velg epikrise.' WHERE code = 'electronic_messaging' AND label = 'Elektronisk meldingsutveksling (PLO-meldinger, e-meldinger)' AND description = 'PLO-meldinger eller andre e-meldinger manglet, ble ikke besvart eller hadde feil innhold.';
UPDATE categories SET label = 'Uklart hvem som hadde ansvaret', description = 'Ingen tok ansvar, eller det var uklart hvem som skulle gjøre hva for pasienten.' WHERE code = 'coordination' AND label = 'Koordinering og ansvarsavklaring' AND description = 'Uklart hvem som hadde ansvaret, eller manglende samarbeid om pasientforløpet.';
UPDATE categories SET label = 'Fikk ikke tak i noen', description = 'Det var vanskelig å nå riktig person eller avdeling, for eksempel på telefon.' WHERE code = 'availability' AND label = 'Tilgjengelighet og kontakt' AND description = 'Vanskelig å nå riktig person eller tjeneste, for eksempel på telefon.';
UPDATE categories SET label = 'Informasjon til pasient og pårørende', description = 'Pasienten eller pårørende fikk ikke informasjonen de trengte, eller ble ikke tatt med på råd.' WHERE code = 'patient_information' AND label = 'Informasjon og medvirkning for pasient og pårørende' AND description = 'Pasient eller pårørende fikk ikke nødvendig informasjon eller mulighet til å medvirke.';
UPDATE categories SET label = 'Annet', description = 'Noe annet i samarbeidet som ikke passer i de andre.' WHERE code = 'other' AND label = 'Annet' AND description = 'Samhandlingsavvik som ikke passer i noen av de andre kategoriene.';

-- The reporter's own choice, kept when the recipient's quality advisor changes the category on
-- acknowledge; NULL while unchanged. Statistics count by the final category and can say how often
-- the first choice was changed (few rows: a partial index).
ALTER TABLE deviations ADD COLUMN reported_category TEXT REFERENCES categories (code);
CREATE INDEX deviations_recategorised ON deviations (submitted_at) WHERE reported_category IS NOT NULL;
-- The new category, on the event that changed it.
ALTER TABLE deviation_events ADD COLUMN category TEXT;

-- The form offers a person's latest recipients first.
CREATE INDEX deviations_reporter ON deviations (reporter_id, submitted_at);
